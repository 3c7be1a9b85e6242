//go:build !unix

package badger

import (
	"errors"
	"os"
)

// mapJournal is not available here: the journal writes with WriteAt.
func mapJournal(*os.File, int64, int) ([]byte, error) { return nil, errors.ErrUnsupported }

func unmapJournal([]byte) error { return nil }
