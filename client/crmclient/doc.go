// Package crmclient is a Go client of the mini-CRM HTTP API, generated from the OpenAPI
// document (openapi/openapi.yaml) with oapi-codegen's default settings: one type per schema
// and per operation's parameters, and a ClientWithResponses whose methods return each
// operation's typed responses (JSON200, JSON201, ApplicationproblemJSON400, ...).
//
// client.gen.go is generated: change the document, not the file, and regenerate it with
// `go tool task generate`. The package's tests fail when client.gen.go is stale, and drive
// the generated client against the service on a real database.
//
// Use it with the service's address (the paths carry /api/v1) and a request editor that
// adds the access token and the organization:
//
//	c, err := crmclient.NewClientWithResponses("http://localhost:8080",
//		crmclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
//			req.Header.Set("Authorization", "Bearer "+token)
//			return nil
//		}))
package crmclient

//go:generate go tool -modfile=../../tools/go.mod oapi-codegen -config oapi-codegen.yaml -o client.gen.go ../../openapi/openapi.yaml
