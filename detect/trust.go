package detect

import "strings"

// trusted returns who made the change if it is trusted automation: "SERVICE
// as ARN" for a trusted service acting as a principal its pattern matches,
// or the ARN that matched a trusted principal pattern; else "". The root
// user, and an actor whose identity could not be read, are never trusted,
// whatever the patterns say.
func (o Scoring) trusted(a Actor) string {
	if a.MayBeRoot() {
		return ""
	}
	for _, s := range o.TrustedServices {
		if a.InvokedBy != s.Service || s.Principal == "" {
			continue
		}
		if arn := a.Matches(s.Principal); arn != "" {
			return s.Service + " as " + arn
		}
	}
	for _, p := range o.TrustedPrincipals {
		if arn := a.Matches(p); arn != "" {
			return arn
		}
	}
	return ""
}

// MayBeRoot reports whether the actor is the root user, or may be: its
// identity could not be read (Unread).
func (a Actor) MayBeRoot() bool { return a.IsRoot() || a.Unread }

// IsRoot reports whether the actor is the account's root user: identity
// type Root (in any case), or an ARN that ends in ":root".
func (a Actor) IsRoot() bool {
	return strings.EqualFold(strings.TrimSpace(a.Type), "Root") || strings.HasSuffix(strings.TrimSpace(a.ARN), ":root")
}

// Matches returns the actor's ARN or, failing that, its session issuer's ARN
// if it matches pattern (see Match); else "".
func (a Actor) Matches(pattern string) string {
	for _, arn := range []string{a.ARN, a.SessionIssuerARN} {
		if arn != "" && Match(pattern, arn) {
			return arn
		}
	}
	return ""
}

// Match reports whether s matches pattern, in which * stands for any run of
// characters (none included) and everything else for itself.
func Match(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
