package main

import (
	"context"
	"fmt"
	"net/url"

	"github.com/mini-crm/crm/cmd/crm/seed"
)

// Names of the contact list operations.
const (
	contactsSearchOp = "contacts search (3+ characters)"
	contactsByTagOp  = "contacts by tag"
)

// contactOps are the contact list's filters, first page with the exact total (the default), newest first:
// a search for a company name (seed.BenchSearch, which only companies match, so the trigram
// indexes of name, email and phone find nothing and the company's find about 1.6 % of the
// contacts) and one tag (seed.BenchTag, on about 3 % of them).
func (h *harness) contactOps() []op {
	return []op{
		{
			name: contactsSearchOp,
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, fmt.Sprintf("/api/v1/contacts?search=%s&page_size=%d", url.QueryEscape(seed.BenchSearch), w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				p := "%" + seed.BenchSearch + "%"
				return w.contactsPage(ctx, sqlContactsSearchPage, sqlContactsSearchCount, []any{p}, []any{p})
			},
		},
		{
			name: contactsByTagOp,
			api: func(ctx context.Context, w *worker) error {
				return w.get(ctx, fmt.Sprintf("/api/v1/contacts?tag=%s&page_size=%d", url.QueryEscape(seed.BenchTag), w.h.cfg.PageSize))
			},
			sql: func(ctx context.Context, w *worker) error {
				return w.contactsPage(ctx, sqlContactsTagPage, sqlContactsTagCount, []any{[]string{seed.BenchTag}}, []any{seed.BenchTag})
			},
		},
	}
}

// contactsPage is the contact list: the page, and the count, each planned for its values
// (as the service plans a search or tag filter) with the organization then its own
// arguments of the filter (the count of a search reads contact_search, that of
// a tag contact_tags, by the tag rather than by the array the page's containment takes).
func (w *worker) contactsPage(ctx context.Context, page, count string, pageArgs, countArgs []any) error {
	org := w.h.orgID
	n, err := w.scopedRowsIn(ctx, sqlScopePerValues, org, fmt.Sprintf(page, w.h.cfg.PageSize+1), append([]any{org}, pageArgs...)...)
	if err != nil || n <= w.h.cfg.PageSize {
		return err // a first page holding the whole list is its own total: no count
	}
	_, err = w.scopedRowsIn(ctx, sqlScopePerValues, org, count, append([]any{org}, countArgs...)...)
	return err
}
