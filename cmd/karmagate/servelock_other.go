//go:build !unix

package main

// lockServe cannot lock here: a second serve on one SQLite file is not
// refused.
func lockServe(string) (func(), error) { return func() {}, nil }
