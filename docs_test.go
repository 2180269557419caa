package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// docPages are the topics docs/ must hold. The README's Documentation list
// links to each; a page deleted or renamed fails here, not as a dead link.
var docPages = []string{
	"architecture.md",
	"chat.md",
	"configuration.md",
	"decisions.md",
	"deploying.md",
	"exposure.md",
	"finding.md",
	"limits.md",
	"organization.md",
	"ports.md",
	"reliability.md",
	"scan.md",
	"security-hub.md",
	"severity.md",
	"sweep.md",
	"testing.md",
	"undo.md",
}

// docReadmeMaxLines keeps the README a front door; the rest lives in docs/.
const docReadmeMaxLines = 300

// TestDocLinks checks that every relative link in README.md and docs/*.md
// resolves to a file or directory of the repository and, with an #anchor
// into a Markdown file, to one of its headings; that the README stays short;
// and that docs/ holds every topic.
func TestDocLinks(t *testing.T) {
	t.Run("slug", testDocSlug)
	t.Run("checker", testDocChecker)

	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{"README.md"}, pages...)

	t.Run("README length", func(t *testing.T) {
		b, err := os.ReadFile("README.md")
		if err != nil {
			t.Fatal(err)
		}
		if n := docLineCount(string(b)); n > docReadmeMaxLines {
			t.Errorf("README.md has %d lines, want at most %d: move the detail into docs/", n, docReadmeMaxLines)
		}
	})

	t.Run("docs present", func(t *testing.T) {
		readme, err := os.ReadFile("README.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, page := range docPages {
			path := filepath.Join("docs", page)
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s is missing: %v", path, err)
			}
		}
		for _, path := range pages {
			if !strings.Contains(string(readme), "]("+filepath.ToSlash(path)+")") {
				t.Errorf("README.md does not link to %s in its Documentation list", filepath.ToSlash(path))
			}
		}
	})

	for _, file := range files {
		t.Run(filepath.ToSlash(file), func(t *testing.T) {
			problems, err := docCheckLinks(root, file)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

func testDocSlug(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"Run all tests", "run-all-tests"},
		{"Try it (no AWS account)", "try-it-no-aws-account"},
		{"Verify: `sgwatch coverage`", "verify-sgwatch-coverage"},
		{"What the template allows, and what an existing topic needs", "what-the-template-allows-and-what-an-existing-topic-needs"},
		{"Account names (`ACCOUNT_NAMES`)", "account-names-account_names"},
		{"`ModifySecurityGroupRules`", "modifysecuritygrouprules"},
		{"A resolution is `info` and follows its exposure", "a-resolution-is-info-and-follows-its-exposure"},
		{"`-since` prunes exactly, `-until` reads a day more", "-since-prunes-exactly--until-reads-a-day-more"},
		{"See [the sweep](sweep.md)", "see-the-sweep"},
		{"Über größe", "über-größe"},
	} {
		if got := docSlug(tt.heading); got != tt.want {
			t.Errorf("docSlug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// testDocChecker runs the checker on small trees: it must find each broken
// link, name the file and line, and leave good and external links alone.
func testDocChecker(t *testing.T) {
	const target = "# Target\n\n## Some heading\n\n## Some heading\n\n```sh\n# not a heading\n```\n"
	for _, tt := range []struct {
		name string
		doc  string
		want []string // one substring for each problem, in order
	}{
		{"good links", "see [t](target.md), [h](target.md#some-heading), [dup](target.md#some-heading-1),\n" +
			"[dir](.), [self](#top), [img](target.md) and [ext](https://example.com/x.md#nope)\n\n# Top\n", nil},
		{"missing file", "one\n[gone](gone.md)\n", []string{"doc.md:2: link [gone](gone.md): gone.md does not exist"}},
		{"missing anchor", "[h](target.md#no-such-heading)\n", []string{"doc.md:1: link [h](target.md#no-such-heading): target.md has no heading with anchor #no-such-heading"}},
		{"heading in a code block is not one", "[h](target.md#not-a-heading)\n", []string{"#not-a-heading"}},
		{"anchor in the same file", "# Title\n\n[a](#title) [b](#nope)\n", []string{"doc.md:3: link [b](#nope): doc.md has no heading with anchor #nope"}},
		{"link text over two lines", "x\n[two\nlines](nope.md)\n", []string{"doc.md:2: link [two lines](nope.md)"}},
		{"links in code are not links", "`[a](nope.md)`\n\n```\n[b](nope.md)\n```\n", nil},
		{"code span in link text", "[`x`](nope.md)\n", []string{"doc.md:1: link [`x`](nope.md)"}},
		{"reference definition", "[r]: nope.md\n", []string{"doc.md:1: link [r]: nope.md"}},
		{"outside the repository", "[up](../outside.md)\n", []string{"outside the repository"}},
		{"mailto is external", "[m](mailto:a@example.com)\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, text := range map[string]string{"doc.md": tt.doc, "target.md": target} {
				if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := docCheckLinks(root, filepath.Join(root, "doc.md"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

var (
	// docLink is an inline link or image, [text](target) or [text](target "title").
	docLink = regexp.MustCompile(`\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// docRefDef is a link reference definition, [label]: target.
	docRefDef = regexp.MustCompile(`(?m)^ {0,3}\[([^\]]+)\]:[ \t]*<?([^\s>]+)>?`)
	// docHeading is an ATX heading.
	docHeading = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	// docScheme starts an absolute URL (https:, mailto:, …).
	docScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// docCheckLinks returns a problem for each relative link in file that does
// not resolve, each naming the file (relative to root), the line and the link.
func docCheckLinks(root, file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	text := string(b)
	masked := docMaskCode(text)
	name := docRel(root, file)

	type link struct {
		at            int
		shown, target string
	}
	var links []link
	for _, m := range docLink.FindAllStringSubmatchIndex(masked, -1) {
		if m[0] > 0 && masked[m[0]-1] == '\\' {
			continue // \[ is not a link
		}
		shown := "[" + strings.Join(strings.Fields(text[m[2]:m[3]]), " ") + "](" + text[m[4]:m[5]] + ")"
		links = append(links, link{m[0], shown, text[m[4]:m[5]]})
	}
	for _, m := range docRefDef.FindAllStringSubmatchIndex(masked, -1) {
		links = append(links, link{m[0], "[" + text[m[2]:m[3]] + "]: " + text[m[4]:m[5]], text[m[4]:m[5]]})
	}

	var problems []string
	for _, l := range links {
		line := strings.Count(text[:l.at], "\n") + 1
		report := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s", name, line, l.shown, fmt.Sprintf(format, args...)))
		}
		if l.target == "" || docScheme.MatchString(l.target) {
			continue
		}
		path, anchor, _ := strings.Cut(l.target, "#")
		path, err := url.PathUnescape(path)
		if err != nil {
			report("cannot read the path: %v", err)
			continue
		}
		dest := file
		if path != "" {
			dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
		}
		if rel := docRel(root, dest); rel == ".." || strings.HasPrefix(rel, "../") {
			report("%s is outside the repository", rel)
			continue
		}
		info, err := os.Stat(dest)
		if err != nil {
			report("%s does not exist", docRel(root, dest))
			continue
		}
		if anchor == "" || info.IsDir() || !strings.EqualFold(filepath.Ext(dest), ".md") {
			continue
		}
		slugs, err := docSlugs(dest)
		if err != nil {
			return nil, err
		}
		if !slugs[anchor] {
			report("%s has no heading with anchor #%s", docRel(root, dest), anchor)
		}
	}
	return problems, nil
}

// docSlugs returns the anchors GitHub gives the headings of a Markdown file;
// a repeated heading gets -1, -2, … appended.
func docSlugs(file string) (map[string]bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	text := string(b)
	masked := docMaskFences(text)
	slugs := map[string]bool{}
	seen := map[string]int{}
	for _, m := range docHeading.FindAllStringSubmatchIndex(masked, -1) {
		s := docSlug(text[m[2]:m[3]])
		if n := seen[s]; n > 0 {
			seen[s] = n + 1
			s = fmt.Sprintf("%s-%d", s, n)
		} else {
			seen[s] = 1
		}
		slugs[s] = true
	}
	return slugs, nil
}

// docSlug is GitHub's anchor for a heading: its text without markup, in lower
// case, with spaces as '-' and punctuation other than '-' and '_' dropped.
func docSlug(heading string) string {
	heading = docLink.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// docMaskFences blanks the lines of fenced code blocks, keeping the line
// count, so that what they hold is neither a link nor a heading.
func docMaskFences(text string) string {
	lines := strings.SplitAfter(text, "\n")
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " \t")
		marker := ""
		if strings.HasPrefix(trimmed, "```") {
			marker = "```"
		} else if strings.HasPrefix(trimmed, "~~~") {
			marker = "~~~"
		}
		switch {
		case fence == "" && marker != "":
			fence = marker
		case fence != "" && marker == fence && strings.TrimSpace(strings.TrimLeft(trimmed, marker[:1])) == "":
			fence = ""
		case fence == "":
			continue
		}
		lines[i] = docBlank(line)
	}
	return strings.Join(lines, "")
}

// docMaskCode blanks fenced code blocks and inline code spans. A code span
// ends at the next run of as many backticks, within its paragraph.
func docMaskCode(text string) string {
	b := []byte(docMaskFences(text))
	for i := 0; i < len(b); {
		if b[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(b) && b[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(b); {
			if b[j] == '\n' && j+1 < len(b) && b[j+1] == '\n' {
				break // a blank line ends the paragraph
			}
			if b[j] != '`' {
				j++
				continue
			}
			k := 0
			for j+k < len(b) && b[j+k] == '`' {
				k++
			}
			if k == n {
				end = j + k
				break
			}
			j += k
		}
		if end < 0 {
			i += n // a literal run of backticks
			continue
		}
		for j := i; j < end; j++ {
			if b[j] != '\n' {
				b[j] = ' '
			}
		}
		i = end
	}
	return string(b)
}

// docBlank replaces every character of s but its line break with a space.
func docBlank(s string) string {
	return strings.Repeat(" ", len(strings.TrimRight(s, "\n"))) + s[len(strings.TrimRight(s, "\n")):]
}

func docLineCount(text string) int {
	n := strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		n++
	}
	return n
}

func docRel(root, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}
