package app

// Module merely contains the skeleton's module path: it stays as written.
const Module = "example.com/skeleton"
