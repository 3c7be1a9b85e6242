package redis

import (
	"runtime"
)

func countGoroutines() int { return runtime.NumGoroutine() }

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
