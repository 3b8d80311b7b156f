//go:build browser

package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBrowserFiles: a user uploads an image through the drag-and-drop form
// (its progress bar live), sees its thumbnail appear once the job has run,
// opens it, shares it, opens the link logged out, revokes it (the link
// then refused), and deletes the file and undoes that.
func TestBrowserFiles(t *testing.T) {
	app := startBrowserApp(t, 240*time.Second, "seed-demo")
	base := app.base
	photo := filepath.Join(t.TempDir(), "photo.png")
	img := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	for x := range 800 {
		img.Set(x, 300, color.NRGBA{B: 255, A: 255})
	}
	f, err := os.Create(photo)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, img))
	require.NoError(t, f.Close())

	app.logIn(t, demoUserEmail, demoPassword)
	app.step(t, "the uploader is live: its progress bar waits hidden",
		chromedp.Navigate(base+"/files"),
		chromedp.WaitVisible(".upload-form"),
		chromedp.WaitNotVisible(".upload-progress"),
	)
	app.step(t, "upload an image",
		chromedp.SetUploadFiles("#upload-file", []string{photo}),
		chromedp.Click(`.upload-form button[type="submit"]`),
		chromedp.WaitVisible(".file-uploaded"),
	)
	require.Contains(t, app.text(t, ".file-uploaded"), "Uploaded photo.png")

	// The job queue looks for due jobs every few seconds.
	deadline := time.Now().Add(30 * time.Second)
	for {
		app.step(t, "the grid view", chromedp.Navigate(base+"/files?view=grid"), chromedp.WaitVisible(".file-grid"))
		loaded, err := chromedp.Run(app.browser, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("img.file-thumbnail"); return !!i && i.complete && i.naturalWidth === 320 })()`))
		require.NoError(t, err)
		if loaded {
			break
		}
		require.True(t, time.Now().Before(deadline), "no thumbnail within 30 s")
		time.Sleep(500 * time.Millisecond)
	}

	app.step(t, "the file's page", chromedp.Click(".file-card a"), chromedp.WaitVisible(".file-preview"))
	page, err := chromedp.Run(app.browser, chromedp.Location())
	require.NoError(t, err)
	app.step(t, "share it",
		chromedp.Click(`form[action$="/shares"] button[type="submit"]`),
		chromedp.WaitVisible(".share-link"),
	)
	link := app.text(t, ".share-link")
	require.Contains(t, link, base+"/s/")

	app.step(t, "download it", chromedp.Navigate(page+"/download"), chromedp.WaitReady("img"))
	kind, err := chromedp.Run(app.browser, chromedp.Evaluate[string]("document.contentType"))
	require.NoError(t, err)
	assert.Equal(t, "image/png", kind, "the download")

	app.step(t, "back to the file", chromedp.Navigate(page), chromedp.WaitVisible(".file-preview"))
	app.logOut(t)
	app.step(t, "open the link logged out", chromedp.Navigate(link), chromedp.WaitReady("img"))
	kind, err = chromedp.Run(app.browser, chromedp.Evaluate[string]("document.contentType"))
	require.NoError(t, err)
	assert.Equal(t, "image/png", kind, "the shared file")

	app.logIn(t, demoUserEmail, demoPassword)
	app.step(t, "revoke the link",
		chromedp.Navigate(page),
		chromedp.WaitVisible(`form[action*="/revoke"]`),
		chromedp.Click(`form[action*="/revoke"] button[type="submit"]`),
		chromedp.WaitVisible(".flash-container"),
	)
	require.Contains(t, app.text(t, ".flash-container"), "revoked")
	app.logOut(t)
	app.step(t, "the revoked link", chromedp.Navigate(link))
	shown, err := chromedp.Run(app.browser, chromedp.Evaluate[string](`document.location.href + " | " + document.contentType + " | " + document.body.innerText.slice(0, 200)`))
	require.NoError(t, err)
	require.Contains(t, shown, "This link does not work")

	app.logIn(t, demoUserEmail, demoPassword)
	app.step(t, "delete the file",
		chromedp.Navigate(base+"/files"),
		chromedp.WaitVisible(".file-table"),
		chromedp.Click(`form[action$="/delete"] button[type="submit"]`),
		chromedp.WaitVisible(".file-deleted"),
	)
	require.Contains(t, app.text(t, ".file-deleted"), "Deleted photo.png")
	app.step(t, "undo",
		chromedp.Click(`.file-deleted button[type="submit"]`),
		chromedp.WaitVisible(".flash-container"),
		chromedp.WaitVisible(".file-table"),
	)
	require.Contains(t, app.text(t, ".flash-container"), "File restored")
	require.Contains(t, app.text(t, ".file-table"), "photo.png")
}
