package web

import "net/http"

// devReload is the stream that tells open pages to reload, served only
// when Deps.DevReload is set, which configuration refuses in production.
func (s *server) devReload() http.Handler {
	if s.DevReload == nil {
		return nil
	}
	return s.DevReload.Handler()
}
