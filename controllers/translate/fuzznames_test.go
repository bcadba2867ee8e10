package translate_test

import (
	"strings"
	"unicode/utf8"
)

// The values the generator gives names, labels and free text: what the API server accepts, with
// its edges (the maximum lengths, names that differ only after the 63rd character, where the
// operator's 63-character names must hash them apart, unicode where the API allows any text).

// longBase is the filler of long names: letters and digits, so any cut of it is a valid label.
const longBase = "abcdefghijklmnopqrstuvwxyz0123456789"

// long returns a name of exactly n characters (n >= 1) that ends with variant: names made with
// the same n and different variants share their first n-1 characters.
func long(n int, variant byte) string {
	s := strings.Repeat(longBase, n/len(longBase)+1)[:n-1]
	return s + string(variant)
}

// dotted returns a DNS-1123 subdomain of exactly n characters with a dot every 63 characters.
func dotted(n int, variant byte) string {
	b := []byte(long(n, variant))
	for i := 63; i < n-1; i += 64 {
		b[i] = '.'
	}
	return string(b)
}

// subdomain returns a DNS-1123 subdomain (at most 253 characters): the names of most kinds.
func (c *choices) subdomain() string {
	variant := pick(c, byte('a'), byte('b'), byte('0'))
	switch c.intn(10) {
	case 0:
		return long(63, variant)
	case 1:
		return long(64, variant) // one past a label: the operator must shorten it
	case 2:
		return long(253, variant)
	case 3:
		return dotted(253, variant)
	case 4:
		return c.label(1, 20)
	default:
		// Short names, and the shapes the operator's own naming uses (a user object named
		// like a generated one, dots that become dashes).
		return pick(c, "a", "gw", "llm", "pool-a", "pool-b", "x.y", "x-y", "1a", "a-eg", "gw-eg",
			"ipool-pool-a", "a.b.c", "rule-0", "chat")
	}
}

// dns1123Label returns a DNS-1123 label (at most 63 characters): namespace names.
func (c *choices) dns1123Label() string {
	switch c.intn(8) {
	case 0:
		return long(63, pick(c, byte('a'), byte('b')))
	case 1:
		return c.label(1, 12)
	default:
		return pick(c, "apps", "other", "platform", "default", "1ns", "ns-a")
	}
}

// dns1035Label returns a DNS-1035 label (a letter first, at most 63 characters): Service names.
func (c *choices) dns1035Label() string {
	switch c.intn(6) {
	case 0:
		return long(63, pick(c, byte('a'), byte('b')))
	case 1:
		return "s" + c.label(0, 12)
	default:
		return pick(c, "epp", "pool-a-epp", "pool-b-epp", "svc", "ipool-pool-a")
	}
}

// label returns a DNS-1123 label of min to max characters read from the bytes ("" when max is 0).
func (c *choices) label(min, max int) string {
	n := c.between(min, max)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[c.intn(len(alphabet))]
		if (i == 0 || i == n-1) && b[i] == '-' {
			b[i] = 'x'
		}
	}
	return string(b)
}

// sectionName returns a listener or rule name (Gateway API SectionName: a DNS-1123 subdomain).
func (c *choices) sectionName() string {
	switch c.intn(8) {
	case 0:
		return long(253, pick(c, byte('a'), byte('b')))
	case 1:
		return c.label(1, 10)
	default:
		return pick(c, "http", "https", "chat", "health", "rule-0", "rule-1", "rule-0-x", "a.b")
	}
}

// labelKey returns a label key (a qualified name, optionally prefixed).
func (c *choices) labelKey() string {
	return pick(c, "tier", "app", "team", "example.com/tier", dotted(253, 'a')+"/"+long(63, 'k'))
}

// labelValue returns a label value (at most 63 characters, possibly empty).
func (c *choices) labelValue() string {
	return pick(c, "models", "edge", "a", "", "A_b.c-9", long(63, 'v'))
}

// text returns free text where the API allows any: Lua source, response bodies, regular
// expressions, annotation values, condition messages. (Not header values: Gateway API allows
// printable ASCII only there; see headerValue.)
func (c *choices) text(max int) string {
	var s string
	switch c.intn(8) {
	case 0:
		s = ""
	case 1:
		s = strings.Repeat("ü日🚀", max/9+1) // 9 bytes a repetition; cut to max bytes below
	case 2:
		var b strings.Builder
		for n := c.intn(24); n > 0; n-- {
			b.WriteRune(pick(c, 'a', 'é', '日', '🚀', '\u200b', '"', '\\', ';', '\t', ' ', '\u00a0'))
		}
		s = b.String()
	default:
		s = pick(c, "value", "héllo wörld", "日本語のプロンプト", "emoji 🚀", "-- lua\nfunction envoy_on_request(h) end")
	}
	return truncateUTF8(s, max)
}

// truncateUTF8 cuts s to at most max bytes without splitting a character.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// headerValue returns a header value as Gateway API allows it: printable ASCII words separated by
// single spaces or tabs, 1 to max characters.
func (c *choices) headerValue(max int) string {
	switch c.intn(6) {
	case 0:
		return strings.Repeat("v", max)
	case 1:
		var b strings.Builder
		for n := c.between(1, 24); n > 0; n-- {
			b.WriteByte(byte(c.between('!', '~')))
		}
		return b.String()
	default:
		return pick(c, "value", "a b", "a\tb", "text/event-stream; charset=utf-8", "%E6%97%A5")
	}
}
