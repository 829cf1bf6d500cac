// Package listing holds the shape of every list of the service: the window a client asks for
// and the window it gets back. Services, stores, facades and handlers all speak these two
// types, so no layer keeps a copy of them.
package listing

// Window is the part of a list a client asks for: either a page by offset or the rows after
// an opaque cursor of a previous result, and whether to count the total.
type Window struct {
	Limit  uint64
	Offset uint64
	Cursor string // opaque; "" for offset pages
	Count  bool
	// Exact asks for the exact total however many records match (include_total=exact);
	// otherwise a count that would pass TotalCap stops there (Result.TotalCapped).
	Exact bool
}

// Unfiltered is the window of a list that no filter narrows (the organization's members,
// pipelines, keys, endpoints; a deal's activities): its total is always exact.
func (w Window) Unfiltered() Window {
	w.Exact = true
	return w
}

// TotalCap is where a total stops being counted unless the client asks for the exact one:
// past it the total reads TotalCap and the result is marked capped.
const TotalCap = 10_000

// Result is one window of a list.
type Result[T any] struct {
	Items      []T
	Total      *int64  // nil when the window did not ask for a count
	NextCursor *string // nil on the last page
	// TotalCapped tells that more than TotalCap records match and Total says TotalCap.
	TotalCapped bool
}

// Capped returns the total to report for n matching records counted up to TotalCap+1.
func Capped(n int64) (total int64, capped bool) {
	if n > TotalCap {
		return TotalCap, true
	}
	return n, false
}
