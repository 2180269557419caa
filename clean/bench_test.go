package clean

import "testing"

// BenchmarkLine is the cost of cleaning one field: printable ASCII (the
// common case, which skips the rune tables), text in several scripts, and
// hostile text full of what Line replaces.
func BenchmarkLine(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", "aws-cli/2.17.0 Python/3.11.8 Linux/6.1 exe/x86_64 prompt/off command/ec2.authorize-security-group-ingress"},
		{"scripts", "héllo wörld 日本語のテキスト ✓ café — «quoted» ünïcödé 한국어 😀 ok Ελληνικά русский עברית"},
		{"hostile", "ok\u202e\u2066\u200b\u3164\u2800\U00013441\U00016FE4\U0001D159\uFE0F\u00A0\u3000\x1b[31m\nFAKE\u2028LINE\U000E0041"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				Line(c.s, 256)
			}
		})
	}
}
