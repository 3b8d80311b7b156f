package files

import (
	"context"
	"fmt"
	"strings"

	"github.com/quickscale/quickscale/templates/skeleton/internal/paging"
)

// Query selects and orders the files of one user for the file browser.
type Query struct {
	// Folder is "" for every folder.
	Folder string
	// Kind is "" for every type, else "image", "pdf" or "text".
	Kind string
	// Search matches within the display name, ignoring case.
	Search string
	// Sort is "name", "size", "type" or "date" (the default, newest
	// first, the others smallest or A first); Reverse turns it round.
	Sort    string
	Reverse bool
	Limit   int
	Offset  int
}

// sortColumns maps each Sort to its ORDER BY, ties broken by id so that
// pages never overlap.
var sortColumns = map[string]string{
	"name": "name", "size": "size", "type": "content_type", "date": "created_at",
}

// kindPatterns maps each Kind to the content types it covers.
var kindPatterns = map[string]string{"image": "image/%", "pdf": "application/pdf", "text": "text/%"}

// List returns the files q selects, from q.Offset and at most q.Limit,
// and how many match in all.
func (s *Service) List(ctx context.Context, userID string, q Query) ([]File, int, error) {
	cond, args := filter(userID, q)
	total, err := s.count(ctx, cond, args)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.find(ctx, cond, args, q)
	return list, total, err
}

// Page is one page of a listing.
type Page struct {
	Files []File
	// Total is how many files match; Number is the page shown (clamped to
	// 1 to Pages).
	Total, Number, Pages int
}

// Page returns page number of the files q selects, perPage a page,
// counting them once; q's Limit and Offset are the page's.
func (s *Service) Page(ctx context.Context, userID string, q Query, number, perPage int) (Page, error) {
	cond, args := filter(userID, q)
	total, err := s.count(ctx, cond, args)
	if err != nil {
		return Page{}, err
	}
	p := Page{Total: total, Pages: paging.Pages(total, perPage)}
	p.Number, q.Offset = paging.Clamp(number, perPage, total)
	q.Limit = perPage
	p.Files, err = s.find(ctx, cond, args, q)
	return p, err
}

// filter is the WHERE clause, and its arguments, of q for the user.
func filter(userID string, q Query) (string, []any) {
	where := []string{"user_id = ?", "deleted_at IS NULL"}
	args := []any{userID}
	if q.Folder != "" {
		where, args = append(where, "folder = ?"), append(args, q.Folder)
	}
	if p, ok := kindPatterns[q.Kind]; ok {
		where, args = append(where, "content_type LIKE ?"), append(args, p)
	}
	if q.Search != "" {
		where = append(where, `LOWER(name) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Search))+"%")
	}
	return strings.Join(where, " AND "), args
}

func (s *Service) count(ctx context.Context, cond string, args []any) (int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM files WHERE "+cond, args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("count files: %w", err)
	}
	return total, nil
}

// find returns the files cond selects, in q's order, from q.Offset and at
// most q.Limit.
func (s *Service) find(ctx context.Context, cond string, args []any, q Query) ([]File, error) {
	col, ok := sortColumns[q.Sort]
	if !ok {
		col = "created_at"
	}
	// Dates newest first, everything else A to Z, unless reversed.
	desc := (col == "created_at") != q.Reverse
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf("%s WHERE %s ORDER BY %s %s, id %s LIMIT ? OFFSET ?", selectFile, cond, col, dir, dir),
		append(args, max(1, q.Limit), max(0, q.Offset))...)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Folders lists the user's folder names, A to Z.
func (s *Service) Folders(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT folder FROM files WHERE user_id = ? AND deleted_at IS NULL AND folder <> '' ORDER BY folder", userID)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("list folders: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
