package remote

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("HTTP %d", int(e)) }

func decodeBody(resp *http.Response, v any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not JSON")
	}
	return nil
}
