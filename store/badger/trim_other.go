//go:build !linux

package badger

// trimState is empty: only Linux has the interfaces the trimmer needs.
type trimState struct{}

// trim does nothing outside Linux: the mapped pages stay to the kernel.
func (t *trimmer) trim() error { return nil }

func (s *trimState) quiet(int64) bool { return true }
