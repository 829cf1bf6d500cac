package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/patch"
)

// IfMatch reads the request's If-Match header with the strong comparison of RFC 9110: absent
// is no precondition, "*" matches any current representation, a weak tag never matches, and a
// list matches when one of its tags does.
func IfMatch(c *fiber.Ctx) patch.Precondition { return ParseIfMatch(c.Get(fiber.HeaderIfMatch)) }

// ParseIfMatch is IfMatch on the header's value.
func ParseIfMatch(header string) patch.Precondition {
	header = strings.TrimSpace(header)
	switch header {
	case "":
		return patch.Unconditional()
	case "*":
		return patch.AnyVersion()
	}
	var tags []string
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if strings.HasPrefix(tag, "W/") {
			continue
		}
		tags = append(tags, tag)
	}
	return patch.OneOf(tags...)
}
