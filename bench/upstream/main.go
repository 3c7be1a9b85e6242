// Command upstream is the tiny backend the load benchmark proxies to: it
// answers every request with a short fixed body, so the numbers measure
// Caddy and require_oauth, not the backend.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "listen address")
	flag.Parse()
	body := []byte(`{"ok":true}`)
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})))
}
