package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/quickscale/quickscale/internal/docker"
)

// ImageExists implements docker.Engine.
func (c *Compose) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := c.api.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up image %s: %w", ref, err)
	}
	return true, nil
}

// BuildImage implements docker.Engine.
func (c *Compose) BuildImage(ctx context.Context, req docker.ImageBuild) error {
	res, err := c.api.ImageBuild(ctx, req.Context, client.ImageBuildOptions{
		Tags:    req.Tags,
		Labels:  req.Labels,
		NoCache: req.NoCache,
		// The classic builder needs no BuildKit session and no registry for
		// FROM scratch. ForceRemove clears intermediate containers even when
		// the build fails or is cancelled.
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return fmt.Errorf("start the image build: %w", err)
	}
	defer res.Body.Close()
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	if err := copyBuildStream(out, res.Body); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("image build interrupted: %w", ctx.Err())
		}
		return err
	}
	return nil
}

// ImageSize implements docker.Engine.
func (c *Compose) ImageSize(ctx context.Context, ref string) (int64, error) {
	img, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("look up image %s: %w", ref, err)
	}
	return img.Size, nil
}

// SaveImage implements docker.Engine.
func (c *Compose) SaveImage(ctx context.Context, ref string, w io.Writer) error {
	res, err := c.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("export image %s: %w", ref, err)
	}
	defer res.Close()
	if _, err := io.Copy(w, res); err != nil {
		return fmt.Errorf("export image %s: %w", ref, err)
	}
	return nil
}

// LoadImage implements docker.Engine.
func (c *Compose) LoadImage(ctx context.Context, archive io.Reader, output io.Writer) error {
	res, err := c.api.ImageLoad(ctx, archive)
	if err != nil {
		return fmt.Errorf("load the image: %w", err)
	}
	defer res.Close()
	if output == nil {
		output = io.Discard
	}
	// The engine answers in the build stream's format.
	if err := copyBuildStream(output, res); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("image load interrupted: %w", ctx.Err())
		}
		return err
	}
	return nil
}

type imageSummary = image.Summary

// buildMessage is one line of the engine's JSON build stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// copyBuildStream writes the builder's text to out and returns the error
// the stream reports, if any.
func copyBuildStream(out io.Writer, body io.Reader) error {
	dec := json.NewDecoder(bufio.NewReader(body))
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read the image build output: %w", err)
		}
		switch {
		case m.Error != "" || m.ErrorDetail.Message != "":
			msg := m.ErrorDetail.Message
			if msg == "" {
				msg = m.Error
			}
			fmt.Fprintln(out, msg)
			return fmt.Errorf("image build failed: %s", strings.TrimSpace(msg))
		case m.Stream != "":
			if _, err := io.WriteString(out, m.Stream); err != nil {
				return err
			}
		case m.Status != "":
			fmt.Fprintln(out, m.Status)
		}
	}
}

// PruneImages implements docker.Engine.
func (c *Compose) PruneImages(ctx context.Context, project string, keep int) ([]string, error) {
	list, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("label", docker.ProjectLabel+"="+project)})
	if err != nil {
		return nil, fmt.Errorf("list the project's images: %w", err)
	}
	// The base image is what the next build starts from, not one to go
	// back to: it neither counts nor goes. Untagged images carrying the
	// label are the builder's cache of the Dockerfile's steps, not builds.
	images := slices.DeleteFunc(list.Items, func(img imageSummary) bool {
		return !slices.ContainsFunc(img.RepoTags, isTag) || slices.ContainsFunc(img.RepoTags, isBaseTag)
	})
	slices.SortFunc(images, func(a, b imageSummary) int { return int(b.Created - a.Created) })
	if len(images) <= keep {
		return nil, nil
	}
	inUse, err := c.imagesInUse(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, img := range images[keep:] {
		if inUse[img.ID] {
			continue
		}
		// Force: an image may carry several tags; none is in use (checked
		// above), so all of them go.
		if _, err := c.api.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return removed, fmt.Errorf("remove old image %s: %w", shortID(img.ID), err)
		}
		name := shortID(img.ID)
		if len(img.RepoTags) > 0 {
			name = img.RepoTags[0]
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// isTag reports a real name:tag, not the "<none>:<none>" the engine lists
// for an untagged image.
func isTag(ref string) bool { return ref != "" && ref != "<none>:<none>" }

// isBaseTag reports a name:tag naming a base image (see docker.BaseTag).
func isBaseTag(ref string) bool { return strings.HasSuffix(ref, ":"+docker.BaseTag) }

// imagesInUse returns the IDs of images any container (running or not)
// was created from.
func (c *Compose) imagesInUse(ctx context.Context) (map[string]bool, error) {
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	used := map[string]bool{}
	for _, ctr := range res.Items {
		used[ctr.ImageID] = true
	}
	return used, nil
}

// Destroy implements docker.Engine.
func (c *Compose) Destroy(ctx context.Context, project string) (docker.Removed, error) {
	var r docker.Removed
	containers, err := labelled(project, func(f client.Filters) ([]string, error) {
		res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		var ids []string
		for _, ctr := range res.Items {
			ids = append(ids, ctr.ID)
		}
		return ids, err
	})
	if err != nil {
		return r, fmt.Errorf("list the project's containers: %w", err)
	}
	for _, id := range containers {
		if _, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return r, fmt.Errorf("remove container %s: %w", shortID(id), err)
		}
		r.Containers = append(r.Containers, shortID(id))
	}

	networks, err := labelled(project, func(f client.Filters) ([]string, error) {
		res, err := c.api.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		var names []string
		for _, n := range res.Items {
			names = append(names, n.Name)
		}
		return names, err
	})
	if err != nil {
		return r, fmt.Errorf("list the project's networks: %w", err)
	}
	for _, n := range networks {
		if _, err := c.api.NetworkRemove(ctx, n, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return r, fmt.Errorf("remove network %s: %w", n, err)
		}
		r.Networks = append(r.Networks, n)
	}

	if r.Volumes, err = c.removeVolumes(ctx, project); err != nil {
		return r, err
	}

	images, err := labelled(project, func(f client.Filters) ([]string, error) {
		res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: f})
		var ids []string
		for _, img := range res.Items {
			ids = append(ids, img.ID)
		}
		return ids, err
	})
	if err != nil {
		return r, fmt.Errorf("list the project's images: %w", err)
	}
	for _, id := range images {
		if _, err := c.api.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return r, fmt.Errorf("remove image %s: %w", shortID(id), err)
		}
		r.Images = append(r.Images, shortID(id))
	}
	return r, nil
}

// removeVolumes deletes the project's volumes, found by label.
func (c *Compose) removeVolumes(ctx context.Context, project string) ([]string, error) {
	volumes, err := labelled(project, func(f client.Filters) ([]string, error) {
		res, err := c.api.VolumeList(ctx, client.VolumeListOptions{Filters: f})
		var names []string
		for _, v := range res.Items {
			names = append(names, v.Name)
		}
		return names, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the project's volumes: %w", err)
	}
	var removed []string
	for _, v := range volumes {
		if _, err := c.api.VolumeRemove(ctx, v, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return removed, fmt.Errorf("remove volume %s: %w", v, err)
		}
		removed = append(removed, v)
	}
	return removed, nil
}

// labelled runs list once per project label (quickscale's own, and
// compose's for resources a plain `docker compose` made) and merges the
// results. Label filters are exact matches, so "app" never picks up
// "app2"'s resources.
func labelled(project string, list func(client.Filters) ([]string, error)) ([]string, error) {
	var out []string
	for _, label := range []string{docker.ProjectLabel, composeProjectLabel} {
		got, err := list(make(client.Filters).Add("label", label+"="+project))
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
