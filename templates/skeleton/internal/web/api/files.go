package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// FileBody is one file in the answers of the files endpoints.
type FileBody struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Folder      string    `json:"folder"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	Width       int       `json:"width,omitempty"`
	Height      int       `json:"height,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func toFileBody(f files.File) FileBody {
	return FileBody{f.ID, f.Name, f.Folder, f.Size, f.ContentType, f.SHA256, f.Width, f.Height, f.CreatedAt}
}

// filesPerPage is the page size of GET /api/v1/files.
const filesPerPage = 100

// ListFiles answers a page of the caller's files, newest first unless
// sorted otherwise, filtered as the file browser filters.
func (a *API) ListFiles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		query := files.Query{Folder: files.CleanFolder(q.Get("folder")), Kind: q.Get("kind"), Search: q.Get("q"),
			Sort: q.Get("sort"), Reverse: q.Get("order") == "reverse"}
		number, _ := strconv.Atoi(q.Get("page"))
		page, err := a.files.Page(r.Context(), caller(r), query, number, filesPerPage)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := make([]FileBody, 0, len(page.Files))
		for _, f := range page.Files {
			out = append(out, toFileBody(f))
		}
		response.JSON(w, http.StatusOK, map[string]any{"files": out, "total": page.Total, "page": page.Number, "pages": page.Pages})
	})
}

// UploadFile stores the request body as a new file named by the query's
// name (and folder), with every check of the upload form.
func (a *API) UploadFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.files.Limits().MaxUploadBytes)
		f, err := a.files.Upload(r.Context(), caller(r), r.URL.Query().Get("name"), r.URL.Query().Get("folder"), r.Body)
		if a.fileProblem(w, r, err) {
			return
		}
		w.Header().Set("Location", "/api/v1/files/"+f.ID+"/content")
		response.JSON(w, http.StatusCreated, toFileBody(f))
	})
}

// uploadRequest is the body of POST /api/v1/uploads.
type uploadRequest struct {
	Name        string `json:"name"`
	Folder      string `json:"folder"`
	ContentType string `json:"content_type"`
}

// UploadBody is the answer of POST /api/v1/uploads: post fields, then the
// file as the field "file", to url as multipart/form-data.
type UploadBody struct {
	ID        string            `json:"id"`
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// BeginUpload signs a form for posting a file straight to the object
// store.
func (a *API) BeginUpload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		var req uploadRequest
		if !decode(w, r, &req, `{"name": "photo.png", "folder": "", "content_type": "image/png"}`) {
			return
		}
		up, err := a.files.BeginUpload(r.Context(), caller(r), req.Name, req.Folder, req.ContentType)
		if a.fileProblem(w, r, err) {
			return
		}
		response.JSON(w, http.StatusCreated, UploadBody{ID: up.ID, URL: up.URL, Fields: up.Fields, ExpiresAt: up.ExpiresAt})
	})
}

// CompleteUpload makes a file of what was posted with a signed form.
func (a *API) CompleteUpload() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := a.files.CompleteUpload(r.Context(), caller(r), r.PathValue("id"))
		if errors.Is(err, files.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no upload with that id")
			return
		}
		if a.fileProblem(w, r, err) {
			return
		}
		response.JSON(w, http.StatusCreated, toFileBody(f))
	})
}

// fileProblem answers err, a *files.Problem with its status and code or
// else a failure, and reports whether there was one.
func (a *API) fileProblem(w http.ResponseWriter, r *http.Request, err error) bool {
	var problem *files.Problem
	switch {
	case errors.As(err, &problem):
		writeError(w, problem.Status, problem.Code, problem.Message)
	case err != nil:
		a.fail(w, r, err)
	}
	return err != nil
}

// FileContent answers one of the caller's files: its contents from local
// disk, or a redirect to a link signed for a minute on an object store.
func (a *API) FileContent() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := a.callerFile(w, r)
		if !ok {
			return
		}
		if err := a.files.Serve(w, r, f); err != nil {
			a.fail(w, r, err)
		}
	})
}

// DeleteFile deletes one of the caller's files; it can be restored from
// the file browser within the undo window.
func (a *API) DeleteFile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := a.callerFile(w, r)
		if !ok {
			return
		}
		if err := a.files.Delete(r.Context(), caller(r), f.ID); err != nil && !errors.Is(err, files.ErrNotFound) {
			a.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// callerFile is the caller's file named by the path, or has answered 404.
func (a *API) callerFile(w http.ResponseWriter, r *http.Request) (files.File, bool) {
	f, err := a.files.Get(r.Context(), caller(r), r.PathValue("id"))
	switch {
	case errors.Is(err, files.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no file with that id")
		return f, false
	case err != nil:
		a.fail(w, r, err)
		return f, false
	}
	return f, true
}
