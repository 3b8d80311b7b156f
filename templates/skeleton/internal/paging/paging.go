// Package paging turns a requested page into the LIMIT and OFFSET of a
// list, whatever page was asked for.
package paging

// Pages is the number of pages total items fill, at least 1.
func Pages(total, perPage int) int { return max(1, (total+perPage-1)/perPage) }

// Clamp returns page moved into 1..Pages(total, perPage) and the offset of
// its first item. A page past the end shows the last one; and since the
// offset never exceeds total, a huge page cannot overflow into a negative
// OFFSET, which PostgreSQL refuses where SQLite reads it as 0.
func Clamp(page, perPage, total int) (clamped, offset int) {
	clamped = min(max(page, 1), Pages(total, perPage))
	return clamped, (clamped - 1) * perPage
}
