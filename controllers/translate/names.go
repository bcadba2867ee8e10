package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxNameLength is the longest name a generated object gets: a DNS-1035 label, which every
// kind we generate accepts (Services require it; the others accept more).
const maxNameLength = 63

// hashLength is the number of hex digits of the hash appended to a shortened name.
const hashLength = 8

// DNS1035Name joins parts with "-" into a valid DNS-1035 label: lower case alphanumerics and
// "-", starting with a letter, ending with an alphanumeric, at most 63 characters. Characters a
// label cannot hold (such as the dots of a DNS-1123 subdomain) become "-". When the joined name
// is too long it is cut and suffixed with a hash of the untouched parts, so distinct inputs keep
// distinct names and the same input always gives the same name.
func DNS1035Name(parts ...string) string {
	joined := strings.Join(parts, "-")
	name := sanitize(joined)
	if name == joined && len(name) <= maxNameLength {
		return name
	}
	// Shortened or sanitized: two inputs could now collide ("a.b" and "a-b"), so the hash of
	// the original decides.
	return withHash(name, joined)
}

// CompoundName names an object after several user-chosen names (parts) between a constant
// prefix and suffix. "-" is legal inside each part, so the readable join alone could give two
// combinations one name ("team-x"+"y" and "team"+"x-y"); a hash of the parts, kept apart, is
// always appended.
func CompoundName(prefix string, parts []string, suffix string) string {
	return hashedName(prefix, append(append([]string{}, parts...), suffix), parts)
}

// hashedName is prefix (if any) and the readable parts joined with "-" (sanitized, cut to
// fit), then "-" and a hash of hashed, which holds every input that tells two objects apart.
func hashedName(prefix string, readable, hashed []string) string {
	sum := sha256.Sum256([]byte(strings.Join(hashed, "/")))
	tag := hex.EncodeToString(sum[:])[:hashLength]
	if prefix != "" {
		readable = append([]string{prefix}, readable...)
	}
	name := sanitize(strings.Join(readable, "-"))
	keep := maxNameLength - hashLength - 1
	if len(name) > keep {
		name = strings.TrimRight(name[:keep], "-")
	}
	return name + "-" + tag
}

// withHash cuts name so that "-<hash of full>" fits in a label and appends it.
func withHash(name, full string) string {
	sum := sha256.Sum256([]byte(full))
	suffix := hex.EncodeToString(sum[:])[:hashLength]
	keep := maxNameLength - hashLength - 1
	if len(name) > keep {
		name = name[:keep]
	}
	name = strings.TrimRight(name, "-")
	if name == "" {
		return "x" + suffix
	}
	return name + "-" + suffix
}

// sanitize lower-cases s, maps every character a DNS-1035 label cannot hold to "-", collapses
// runs of "-", and makes it start with a letter and end with an alphanumeric.
func sanitize(s string) string {
	var b strings.Builder
	lastDash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !ok {
			if !lastDash {
				b.WriteByte('-')
			}
			lastDash = true
			continue
		}
		b.WriteRune(r)
		lastDash = false
	}
	out := strings.Trim(b.String(), "-")
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = "x" + out
	}
	return out
}

// LabelValue returns v when it is a valid label value (at most 63 characters), else a shortened
// form with a hash, so labels can name sources whose names are longer than a label allows.
// Source names are DNS-1123 subdomains, so only their length can make them invalid.
func LabelValue(v string) string {
	if len(v) <= maxNameLength {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	keep := maxNameLength - hashLength - 1
	return strings.TrimRight(v[:keep], "-.") + "-" + hex.EncodeToString(sum[:])[:hashLength]
}
