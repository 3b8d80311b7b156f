//go:build !unix

package generator

func isReadOnly(error) bool { return false }

func isNotDir(error) bool { return false }

func isNotEmpty(error) bool { return false }
