// Command bareserve is the yardstick of scripts/bench-render: a bare
// net/http server that answers each path with bytes captured from the
// generated app, with no middleware, routing or rendering, so the ratio of
// the two servers' throughput is what the app's own work costs.
//
// usage: bareserve ADDR PATH=FILE [PATH=FILE...]
package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: bareserve ADDR PATH=FILE [PATH=FILE...]")
		os.Exit(2)
	}
	mux := http.NewServeMux()
	for _, arg := range os.Args[2:] {
		path, file, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "bareserve: %q is not PATH=FILE\n", arg)
			os.Exit(2)
		}
		body, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bareserve:", err)
			os.Exit(1)
		}
		pattern := "GET " + path
		if strings.HasSuffix(path, "/") {
			pattern += "{$}" // exactly the path, as the app's route is
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(body)
		})
	}
	if err := http.ListenAndServe(os.Args[1], mux); err != nil {
		fmt.Fprintln(os.Stderr, "bareserve:", err)
		os.Exit(1)
	}
}
