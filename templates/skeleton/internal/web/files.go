package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/quickscale/quickscale/templates/skeleton/internal/accounts"
	"github.com/quickscale/quickscale/templates/skeleton/internal/clock"
	"github.com/quickscale/quickscale/templates/skeleton/internal/files"
	"github.com/quickscale/quickscale/templates/skeleton/internal/views"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/form"
	"github.com/quickscale/quickscale/templates/skeleton/internal/web/response"
)

// The file pages for signed-in users: the browser with its upload form,
// downloads, delete and undo.

// filesPerPage is one page of the file browser.
const filesPerPage = 25

// multipartOverhead is what a form adds around the file: boundaries,
// part headers and the folder field.
const multipartOverhead = 64 << 10

// filesPage is what templates/files/index.html shows.
type filesPage struct {
	Files   []fileRow
	Folders []string
	Query   files.Query
	// View is "list" or "grid"; ViewToggle links to the other.
	View, ViewToggle string
	Page, Pages      int
	Total            int
	// Used, Quota and MaxUpload in bytes, and as text for people.
	Used, Quota, MaxUpload       int64
	UsedText, QuotaText, MaxText string
	Allowed                      string
	Problem                      string
	// Uploaded is the file just uploaded; Deleted the file just deleted,
	// while it can be restored.
	Uploaded, Deleted    *files.File
	PrevQuery, NextQuery string
	// SortLinks maps each sort to the link that sorts by it.
	SortLinks map[string]string
}

// fileRow is one file in the browser.
type fileRow struct {
	files.File
	SizeText string
	IsImage  bool
	// HasThumbnail is true once the thumbnail job has run.
	HasThumbnail bool
}

func newFileRow(f files.File) fileRow {
	_, thumb := files.Thumbnail(f)
	return fileRow{File: f, SizeText: files.FormatBytes(f.Size), IsImage: files.Inline(f), HasThumbnail: thumb}
}

func renderFiles(w http.ResponseWriter, r *http.Request, p *response.Pages, fs *files.Service, status int, data filesPage) {
	ctx, user := r.Context(), currentUser(r)
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	data.Query = files.Query{Folder: files.CleanFolder(q.Get("folder")), Kind: q.Get("kind"), Search: q.Get("q"),
		Sort: q.Get("sort"), Reverse: q.Get("order") == "reverse"}
	data.View = "list"
	if q.Get("view") == "grid" {
		data.View = "grid"
	}
	list, err := fs.Page(ctx, user.ID, data.Query, page, filesPerPage)
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	data.Total, data.Page, data.Pages = list.Total, list.Number, list.Pages
	for _, f := range list.Files {
		data.Files = append(data.Files, newFileRow(f))
	}
	if data.Folders, err = fs.Folders(ctx, user.ID); err != nil {
		p.Fail(w, r, err)
		return
	}
	if data.Used, err = fs.Used(ctx, user.ID); err != nil {
		p.Fail(w, r, err)
		return
	}
	limits := fs.Limits()
	data.Quota, data.MaxUpload = limits.QuotaBytes, limits.MaxUploadBytes
	data.UsedText, data.QuotaText, data.MaxText = files.FormatBytes(data.Used), files.FormatBytes(data.Quota), files.FormatBytes(data.MaxUpload)
	data.Allowed = files.AllowedDescription
	if id := q.Get("uploaded"); id != "" {
		if f, err := fs.Get(ctx, user.ID, id); err == nil {
			data.Uploaded = &f
		}
	}
	if id := q.Get("deleted"); id != "" && data.Deleted == nil {
		if f, err := fs.Recent(ctx, user.ID, id); err == nil {
			data.Deleted = &f
		}
	}
	link := func(change map[string]string) string {
		v := url.Values{}
		for _, k := range []string{"folder", "kind", "q", "sort", "order", "view"} {
			if s := q.Get(k); s != "" {
				v.Set(k, s)
			}
		}
		for k, s := range change {
			if s == "" {
				v.Del(k)
			} else {
				v.Set(k, s)
			}
		}
		return "/files?" + v.Encode()
	}
	if data.Page > 1 {
		data.PrevQuery = link(map[string]string{"page": strconv.Itoa(data.Page - 1)})
	}
	if data.Page < data.Pages {
		data.NextQuery = link(map[string]string{"page": strconv.Itoa(data.Page + 1)})
	}
	data.SortLinks = map[string]string{}
	for _, s := range []string{"name", "size", "type", "date"} {
		order := ""
		if data.Query.Sort == s && !data.Query.Reverse {
			order = "reverse"
		}
		data.SortLinks[s] = link(map[string]string{"sort": s, "order": order, "page": ""})
	}
	other := "grid"
	if data.View == "grid" {
		other = "list"
	}
	data.ViewToggle = link(map[string]string{"view": other})
	p.Page(w, r, status, "files/index", views.Page{Title: "Files", Data: data})
}

func handleFiles(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderFiles(w, r, p, fs, http.StatusOK, filesPage{})
	})
}

// handleFileUpload reads the multipart form as a stream, the body bounded
// before a byte is parsed: the file part goes straight to the files
// service, which spools, checks and stores it. It works without
// JavaScript; with it, the page shows the progress of the same request.
func handleFileUpload(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, fs.Limits().MaxUploadBytes+multipartOverhead)
		f, err := uploadFromForm(r, fs)
		var problem *files.Problem
		switch {
		case errors.As(err, &problem):
			renderFiles(w, r, p, fs, problem.Status, filesPage{Problem: problem.Message})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		// Named in the address rather than a flash: the script that sends
		// the form follows the redirect itself before loading the page.
		http.Redirect(w, r, "/files?uploaded="+url.QueryEscape(f.ID), http.StatusSeeOther)
	})
}

// uploadFromForm finds the folder field and the file part. The folder
// must come first, as the form sends it.
func uploadFromForm(r *http.Request, fs *files.Service) (files.File, error) {
	badForm := &files.Problem{Status: http.StatusBadRequest, Code: "bad_form", Message: "the upload form was not sent whole: choose a file and send the form again"}
	mr, err := r.MultipartReader()
	if err != nil {
		return files.File{}, badForm
	}
	var folder string
	for {
		part, err := mr.NextPart()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return files.File{}, fs.TooLarge()
		case err != nil:
			return files.File{}, badForm
		}
		switch part.FormName() {
		case "folder":
			folder, err = readField(part)
			if err != nil {
				return files.File{}, badForm
			}
		case "file":
			if part.FileName() == "" {
				return files.File{}, &files.Problem{Status: http.StatusBadRequest, Code: "no_file", Message: "no file was chosen: choose a file to upload"}
			}
			return fs.Upload(r.Context(), currentUser(r).ID, part.FileName(), folder, part)
		}
	}
}

// readField reads a small text field of a multipart form.
func readField(part *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(part, 1024))
	return string(b), err
}

// fileActionFailed answers the error of an action on a file: 404 for
// one that is not the user's (or no longer there), else the error page.
// It reports whether there was an error.
func fileActionFailed(w http.ResponseWriter, r *http.Request, p *response.Pages, err error) bool {
	switch {
	case errors.Is(err, files.ErrNotFound):
		p.Error(w, r, http.StatusNotFound)
	case err != nil:
		p.Fail(w, r, err)
	}
	return err != nil
}

// fileOr404 is the signed-in user's file named by the path, or has
// answered 404: another user's id is answered as a missing one.
func fileOr404(w http.ResponseWriter, r *http.Request, p *response.Pages, fs *files.Service) (files.File, bool) {
	f, err := fs.Get(r.Context(), currentUser(r).ID, r.PathValue("id"))
	switch {
	case errors.Is(err, files.ErrNotFound):
		p.Error(w, r, http.StatusNotFound)
		return f, false
	case err != nil:
		p.Fail(w, r, err)
		return f, false
	}
	return f, true
}

// handleFileDownload serves the owner's file.
func handleFileDownload(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := fileOr404(w, r, p, fs); ok {
			serveFile(w, r, p, fs, f)
		}
	})
}

// handleFileImage serves the owner's image that image picks from the
// file (its thumbnail, once the job has made it; the file itself, shown
// on its page), streamed through the application on every store; a
// file without one is 404.
func handleFileImage(p *response.Pages, fs *files.Service, image func(files.File) (files.File, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := fileOr404(w, r, p, fs)
		if !ok {
			return
		}
		img, ok := image(f)
		if !ok {
			p.Error(w, r, http.StatusNotFound)
			return
		}
		if err := fs.Stream(w, r, img); err != nil {
			p.Fail(w, r, err)
		}
	})
}

// preview is the file as its page shows it: only a re-encoded image.
func preview(f files.File) (files.File, bool) { return f, files.Inline(f) }

// handleSharedFile serves the file a share link opens, to anyone holding
// the link; an unknown, altered, expired or revoked one is 403.
func handleSharedFile(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := fs.Shared(r.Context(), r.PathValue("token"))
		switch {
		case errors.Is(err, files.ErrShareInvalid):
			p.ErrorText(w, r, http.StatusForbidden, "This link does not work", "It has expired or been revoked. Ask whoever sent it for a new one.")
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		serveFile(w, r, p, fs, f)
	})
}

// serveFile serves f as files.Serve does, or the error page.
func serveFile(w http.ResponseWriter, r *http.Request, p *response.Pages, fs *files.Service, f files.File) {
	if err := fs.Serve(w, r, f); err != nil {
		p.Fail(w, r, err)
	}
}

// filePage is what templates/files/file.html shows: one file, its share
// links, and a new link's address, shown once.
type filePage struct {
	File    fileRow
	Shares  []shareRow
	NewLink string
	Problem string
	MaxDays int
}

// shareRow is one share link; Active is at the page's time.
type shareRow struct {
	files.Share
	Active bool
}

func renderFile(w http.ResponseWriter, r *http.Request, p *response.Pages, fs *files.Service, clk clock.Clock, status int, f files.File, data filePage) {
	shares, err := fs.Shares(r.Context(), currentUser(r).ID, f.ID)
	if err != nil {
		p.Fail(w, r, err)
		return
	}
	now := clk.Now()
	for _, sh := range shares {
		data.Shares = append(data.Shares, shareRow{Share: sh, Active: sh.Active(now)})
	}
	data.File = newFileRow(f)
	data.MaxDays = files.MaxShareDays
	// The page may show a link's secret: never cache it.
	w.Header().Set("Cache-Control", "no-store")
	p.Page(w, r, status, "files/file", views.Page{Title: f.Name, Data: data})
}

func handleFile(p *response.Pages, fs *files.Service, clk clock.Clock) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := fileOr404(w, r, p, fs); ok {
			renderFile(w, r, p, fs, clk, http.StatusOK, f, filePage{})
		}
	})
}

func handleShareCreate(p *response.Pages, fs *files.Service, clk clock.Clock, base *url.URL) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		f, ok := fileOr404(w, r, p, fs)
		if !ok {
			return
		}
		days, _ := strconv.Atoi(r.PostForm.Get("days"))
		_, token, err := fs.CreateShare(r.Context(), currentUser(r).ID, f.ID, days)
		var problem *files.Problem
		switch {
		case errors.As(err, &problem):
			renderFile(w, r, p, fs, clk, problem.Status, f, filePage{Problem: problem.Message})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		link := base.JoinPath("/s/" + token)
		renderFile(w, r, p, fs, clk, http.StatusCreated, f, filePage{NewLink: link.String()})
	})
}

// handleFileEdit renames or moves the owner's file, as the form's action
// says.
func handleFileEdit(p *response.Pages, fs *files.Service, edit func(fs *files.Service, r *http.Request, userID, id string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		id := r.PathValue("id")
		err := edit(fs, r, currentUser(r).ID, id)
		if fileActionFailed(w, r, p, err) {
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "Saved."})
		http.Redirect(w, r, "/files/"+id, http.StatusSeeOther)
	})
}

func renameFile(fs *files.Service, r *http.Request, userID, id string) error {
	return fs.Rename(r.Context(), userID, id, r.PostForm.Get("name"))
}

func moveFile(fs *files.Service, r *http.Request, userID, id string) error {
	return fs.Move(r.Context(), userID, id, r.PostForm.Get("folder"))
}

// adminFilesPage is what templates/admin/files.html shows: one user's
// files, metadata only.
type adminFilesPage struct {
	User  accounts.User
	Files []fileRow
	Total int
	Used  string
}

// handleAdminUserFiles lists a user's files for an administrator, newest
// first: names, types, sizes and checksums, never the contents.
func handleAdminUserFiles(p *response.Pages, a *auth, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := a.Users.ByID(r.Context(), r.PathValue("id"))
		if errors.Is(err, accounts.ErrNotFound) {
			p.Error(w, r, http.StatusNotFound)
			return
		} else if err != nil {
			p.Fail(w, r, err)
			return
		}
		list, total, err := fs.List(r.Context(), u.ID, files.Query{Limit: 200})
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		used, err := fs.Used(r.Context(), u.ID)
		if err != nil {
			p.Fail(w, r, err)
			return
		}
		data := adminFilesPage{User: u, Total: total, Used: files.FormatBytes(used)}
		for _, f := range list {
			data.Files = append(data.Files, newFileRow(f))
		}
		p.Page(w, r, http.StatusOK, "admin/files", views.Page{Title: "Files of " + u.Name, Data: data})
	})
}

// handleAdminFileDelete deletes a user's file for an administrator, in
// the audit log.
func handleAdminFileDelete(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		owner := r.PathValue("id")
		err := fs.AdminDelete(r.Context(), currentUser(r).ID, owner, r.PathValue("file"))
		if fileActionFailed(w, r, p, err) {
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "File deleted."})
		http.Redirect(w, r, "/admin/users/"+owner+"/files", http.StatusSeeOther)
	})
}

func handleShareRevoke(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		f, ok := fileOr404(w, r, p, fs)
		if !ok {
			return
		}
		err := fs.RevokeShare(r.Context(), currentUser(r).ID, r.PathValue("share"))
		if fileActionFailed(w, r, p, err) {
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "The link is revoked: it no longer opens the file."})
		http.Redirect(w, r, "/files/"+f.ID, http.StatusSeeOther)
	})
}

func handleFileDelete(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		id := r.PathValue("id")
		err := fs.Delete(r.Context(), currentUser(r).ID, id)
		if fileActionFailed(w, r, p, err) {
			return
		}
		http.Redirect(w, r, "/files?deleted="+url.QueryEscape(id), http.StatusSeeOther)
	})
}

func handleFileRestore(p *response.Pages, fs *files.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseForm(w, r, p, form.MaxBytes) {
			return
		}
		err := fs.Restore(r.Context(), currentUser(r).ID, r.PathValue("id"))
		switch {
		case errors.Is(err, files.ErrNotFound):
			renderFiles(w, r, p, fs, http.StatusConflict, filesPage{Problem: "the file can no longer be restored: it was deleted more than " +
				files.UndoWindow.String() + " ago"})
			return
		case err != nil:
			p.Fail(w, r, err)
			return
		}
		p.Flash(w, views.Flash{Kind: "success", Message: "File restored."})
		http.Redirect(w, r, "/files", http.StatusSeeOther)
	})
}
