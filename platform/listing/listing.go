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
}

// Result is one window of a list.
type Result[T any] struct {
	Items      []T
	Total      *int64  // nil when the window did not ask for a count
	NextCursor *string // nil on the last page
}
