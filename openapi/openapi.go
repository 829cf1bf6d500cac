// Package openapi owns the API's description: the OpenAPI 3 document written by hand in
// openapi.yaml (the source kept in the repository), served as JSON at
// GET /api/v1/openapi.json, and the interactive reference page at GET /docs, whose assets
// (Swagger UI) are embedded in the binary so that it works without internet access.
//
// The document is the contract, written before the code it describes, and covers every
// route. Tests prove it true: the route coverage test in cmd/crm/app compares it with the
// routes registered in fiber, the e2e scenarios validate every request and response against
// it, and the Go client in client/crmclient is generated from it.
package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed openapi.yaml
var source []byte

// YAML returns the source of the document.
func YAML() []byte { return bytes.Clone(source) }

var jsonDoc = sync.OnceValues(func() ([]byte, error) { return ToJSON(source) })

// JSON returns the document as JSON, with the keys in the order of the source. It panics if
// the embedded source is not valid YAML, which the package's tests rule out.
func JSON() []byte {
	b, err := jsonDoc()
	if err != nil {
		panic(fmt.Sprintf("openapi: the embedded openapi.yaml cannot be read: %v", err))
	}
	return b
}

// ToJSON converts one YAML document to indented JSON, keeping the order of mapping keys
// (encoding/json would sort them, scrambling the order of paths and properties that the
// reference page shows).
func ToJSON(y []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(y, &doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &doc); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return errors.New("expected exactly one YAML document")
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: only plain scalar mapping keys are supported", k.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			buf.Write(key)
			buf.WriteByte(':')
			if err := writeJSON(buf, v); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return writeScalar(buf, n)
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		buf.WriteString("null")
		return nil
	case "!!bool", "!!int", "!!float":
		// Numbers stay as written when that is valid JSON (10000.0 stays 10000.0).
		if json.Valid([]byte(n.Value)) {
			buf.WriteString(n.Value)
			return nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	b, _ := json.Marshal(n.Value)
	buf.Write(b)
	return nil
}
