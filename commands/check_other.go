//go:build !unix

package commands

// freeDiskBytes is not measured here; check reports nothing about disk.
func freeDiskBytes(string) (uint64, bool) { return 0, false }
