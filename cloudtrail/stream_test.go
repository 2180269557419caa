package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	raw    string
	record int
	err    string
}

// readAll reads every value of in, through r's wrapping of the input.
func readAll(t *testing.T, in []byte, wrap func(io.Reader) io.Reader) []got {
	t.Helper()
	rd := NewReader(wrap(bytes.NewReader(in)))
	var out []got
	for i := 0; ; i++ {
		if i > len(in)+10 {
			t.Fatalf("the Reader does not end on %q", in)
		}
		it, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, got{err: err.Error()})
			var re *RecordError
			if errors.As(err, &re) {
				continue
			}
			if _, err2 := rd.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("after %v, Next returned %v: want the same error", err, err2)
			}
			return out
		}
		out = append(out, got{raw: string(it.Raw), record: it.Record})
	}
}

var wraps = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"halves":   iotest.HalfReader,
	"data+EOF": iotest.DataErrReader,
}

func TestReaderShapes(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []got
	}{
		{"log file", `{"Records":[{"a":1},{"b":"}"}]}`, []got{{raw: `{"a":1}`, record: 1}, {raw: `{"b":"}"}`, record: 2}}},
		{"log file with spaces", " \n{ \"Records\" :\n [ {\"a\":1} ,\n\t{\"b\":2} ] }\n", []got{{raw: `{"a":1}`, record: 1}, {raw: `{"b":2}`, record: 2}}},
		{"records in any case", `{"RECORDS":[{"a":1}]}`, []got{{raw: `{"a":1}`, record: 1}}},
		{"empty log", `{"Records":[]}`, nil},
		{"keys after the array", `{"Records":[{"a":1}],"x":{"y":"]}"}}{"c":3}`, []got{{raw: `{"a":1}`, record: 1}, {raw: `{"c":3}`}}},
		// A second Records key: encoding/json would read only the last one;
		// the Reader reads both, so neither can hide a record.
		{"duplicate Records", `{"Records":[],"Records":[{"a":1}],"x":[1,{"y":"}"}],"RECORDS":[{"b":2}]}{"c":3}`, []got{{raw: `{"a":1}`, record: 1}, {raw: `{"b":2}`, record: 2}, {raw: `{"c":3}`}}},
		{"escaped second key", `{"Records":[],"Recor\u0064s":[{"a":1}]}`, []got{{raw: `{"a":1}`, record: 1}}},
		{"bad member after Records", `{"Records":[{"a":1}] "x":1}`, []got{{raw: `{"a":1}`, record: 1}, {err: "in a log file: want ',' or '}'"}}},
		{"two logs", `{"Records":[{"a":1}]}{"Records":[{"b":2}]}`, []got{{raw: `{"a":1}`, record: 1}, {raw: `{"b":2}`, record: 1}}},
		{"records one per line", "{\"a\":1}\n{\"b\":2}\n", []got{{raw: `{"a":1}`}, {raw: `{"b":2}`}}},
		{"concatenated", `{"a":1}{"b":[{"c":"{"}]}`, []got{{raw: `{"a":1}`}, {raw: `{"b":[{"c":"{"}]}`}}},
		{"escaped quotes", `{"Records":[{"a":"x\"}\\"},{"b":"\\\\\"]"}]}`, []got{{raw: `{"a":"x\"}\\"}`, record: 1}, {raw: `{"b":"\\\\\"]"}`, record: 2}}},
		{"backslash runs", `{"a":"\\\\\\\\"}{"b":"\\\\\\\""}`, []got{{raw: `{"a":"\\\\\\\\"}`}, {raw: `{"b":"\\\\\\\""}`}}},
		{"Records not first", `{"x":1,"Records":[{"a":1}]}`, []got{{raw: `{"x":1,"Records":[{"a":1}]}`}}},
		{"Records not a list", `{"Records":{"a":1}}`, []got{{raw: `{"Records":{"a":1}}`}}},
		{"record not an object", `{"Records":[1,"s",null,[2]]}`, []got{{raw: `1`, record: 1}, {raw: `"s"`, record: 2}, {raw: `null`, record: 3}, {raw: `[2]`, record: 4}}},
		{"scalars at the top", `12 true "x"`, []got{{raw: `12`}, {raw: `true`}, {raw: `"x"`}}},
		{"byte order mark", "\xef\xbb\xbf{\"a\":1}", []got{{raw: `{"a":1}`}}},
		{"white space only", " \n\t", nil},
		{"cut short", `{"Records":[{"a":1},{"b":`, []got{{raw: `{"a":1}`, record: 1}, {err: "byte 25: unexpected end of input"}}},
		{"array not closed", `{"Records":[{"a":1}`, []got{{raw: `{"a":1}`, record: 1}, {err: "unexpected end of input"}}},
		{"stray bracket", `{"a":1}}`, []got{{raw: `{"a":1}`}, {err: `byte 7: unexpected '}'`}}},
		{"missing comma", `{"Records":[{"a":1} {"b":2}]}`, []got{{raw: `{"a":1}`, record: 1}, {err: `after a record: want ',' or ']', got '{'`}}},
		{"trailing comma", `{"Records":[{"a":1},]}`, []got{{raw: `{"a":1}`, record: 1}, {err: "a comma before ']'"}}},
		{"leading comma", `{"Records":[,{"a":1}]}`, []got{{err: `byte 12: unexpected ','`}}},
		// Bracket kinds are the decoder's to check: it rejects the record.
		{"unbalanced inside", `{"Records":[{"a":[}]}`, []got{{raw: `{"a":[}]`, record: 1}, {err: `want ',' or ']', got '}'`}}},
	}
	for _, c := range cases {
		for wn, w := range wraps {
			t.Run(c.name+"/"+wn, func(t *testing.T) {
				out := readAll(t, []byte(c.in), w)
				if len(out) != len(c.want) {
					t.Fatalf("got %+v, want %+v", out, c.want)
				}
				for i := range out {
					g, w := out[i], c.want[i]
					if g.raw != w.raw || g.record != w.record || (w.err == "") != (g.err == "") || !strings.Contains(g.err, w.err) {
						t.Errorf("value %d: got %+v, want %+v", i, g, w)
					}
				}
			})
		}
	}
}

// TestSkipAcrossReads: a member skipped after the Records array, whose
// string ends right at the edge of a read (a regression: a panic).
func TestSkipAcrossReads(t *testing.T) {
	for pad := readSize - 48; pad < readSize+48; pad++ {
		in := `{"Records":[],"x":"` + strings.Repeat("a", pad) + `\\\"b"}{"c":3}`
		rd := NewReader(bytes.NewReader([]byte(in)))
		it, err := rd.Next()
		if err != nil || string(it.Raw) != `{"c":3}` {
			t.Fatalf("pad %d: %q, %v", pad, it.Raw, err)
		}
	}
}

// TestRecordOverTheLimit: a record over MaxRecord is an error for that
// record only, the same in a plain file, gzip and a top-level value.
func TestRecordOverTheLimit(t *testing.T) {
	big := `{"eventName":"x","pad":"` + strings.Repeat(`a\"`, MaxRecord/2) + `"}`
	log := []byte(`{"Records":[{"a":1},` + big + `,{"b":2}]}` + "\n" + big + "\n" + `{"c":3}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(log)
	zw.Close()
	for name, in := range map[string][]byte{"plain": log, "gzip": gz.Bytes()} {
		t.Run(name, func(t *testing.T) {
			src, err := Decompress(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			rd := NewReader(src)
			var out []string
			for {
				it, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					out = append(out, err.Error())
					continue
				}
				out = append(out, fmt.Sprintf("%d %s", it.Record, it.Raw))
			}
			want := []string{
				`1 {"a":1}`,
				fmt.Sprintf("record 2 at byte 20 exceeds the %d-byte limit for one record", MaxRecord),
				`3 {"b":2}`,
				fmt.Sprintf("value at byte %d exceeds the %d-byte limit for one record", 20+len(big)+11, MaxRecord),
				`0 {"c":3}`,
			}
			if strings.Join(out, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(out, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestCorruptGzip: a gzip stream cut short or corrupt is an error naming
// gzip, after every record decompressed before the damage was found (a
// corrupt checksum is found after the last record).
func TestCorruptGzip(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"Records":[{"a":1},{"b":"` + strings.Repeat("x", 1<<20) + `"}]}`))
	zw.Close()
	data := gz.Bytes()
	for name, c := range map[string]struct {
		in      []byte
		records int
	}{
		"cut short": {data[:len(data)/2], 1},
		"corrupt":   {append(append([]byte{}, data[:len(data)-8]...), 0, 0, 0, 0, 0, 0, 0, 0), 2},
	} {
		src, err := Decompress(bytes.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		out := readAll(t, nil, func(io.Reader) io.Reader { return src })
		last := out[len(out)-1]
		if len(out) != c.records+1 || out[0].raw != `{"a":1}` || !strings.Contains(last.err, "gzip: ") {
			t.Errorf("%s: got %d values, last %+v; want %d records, then a gzip error", name, len(out), last, c.records)
		}
	}
}

// errWithData gives all of data and err in one Read, as a gzip reader does
// when the stream is cut short: what it decompressed, and the error.
type errWithData struct {
	data []byte
	err  error
}

func (e *errWithData) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	if len(e.data) == 0 {
		return n, e.err
	}
	return n, nil
}

// TestReadErrorAfterData: the records a failed read gave are all read
// before its error.
func TestReadErrorAfterData(t *testing.T) {
	src := &errWithData{data: []byte(`{"Records":[{"a":1},{"b":2},{"c":`), err: errors.New("gzip: unexpected EOF")}
	out := readAll(t, nil, func(io.Reader) io.Reader { return src })
	if len(out) != 3 || out[0].raw != `{"a":1}` || out[1].raw != `{"b":2}` || !strings.Contains(out[2].err, "unexpected EOF") {
		t.Errorf("got %+v; want both complete records, then the read's error", out)
	}
}

// bounded generates a large CloudTrail log file as it is read, and fails
// the read if the reader has more than limit bytes in hand beyond the
// records the consumer has been given (consumed, set by the test).
type bounded struct {
	records, produced int
	total             int
	limit             int
	consumed          func() int64
	pending           []byte
	record            []byte
}

func (b *bounded) Read(p []byte) (int, error) {
	if ahead := int64(b.produced) - b.consumed(); ahead > int64(b.limit) {
		return 0, fmt.Errorf("the reader holds %d bytes beyond the last record it returned (limit %d)", ahead, b.limit)
	}
	if len(b.pending) == 0 {
		switch {
		case b.produced == 0:
			b.pending = []byte(`{"Records":[`)
		case b.records < b.total:
			b.pending = b.record
			if b.records > 0 {
				b.pending = append([]byte(","), b.record...)
			}
			b.records++
		case b.records == b.total:
			b.pending = []byte("]}")
			b.records++
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	b.produced += n
	return n, nil
}

// TestStreamingMemoryIsFlat reads a 200 MB log: the reader never holds more
// than a few reads beyond the record it returned, and what it keeps on the
// heap stays flat (bench/scan.sh measures the whole process's peak).
func TestStreamingMemoryIsFlat(t *testing.T) {
	rec, err := os.ReadFile(filepath.Join("..", "testdata", "cloudtrail", "stratus-red-team", "RunInstances-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := jsonCompact(&compact, rec); err != nil {
		t.Fatal(err)
	}
	total := 200 << 20 / compact.Len()
	var rd *Reader
	src := &bounded{total: total, limit: 2 * readSize, record: compact.Bytes(), consumed: func() int64 { return rd.offset() }}
	rd = NewReader(src)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	n := 0
	for {
		it, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", n+1, err)
		}
		if !bytes.Equal(it.Raw, compact.Bytes()) {
			t.Fatalf("record %d differs", it.Record)
		}
		n++
		if n%20000 == 0 { // what the reader keeps (garbage is collected)
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if n != total {
		t.Fatalf("read %d records, want %d", n, total)
	}
	if grown := int64(peak) - int64(base); grown > 8<<20 {
		t.Errorf("heap grew by %d bytes reading %d MB", grown, src.produced>>20)
	}
	t.Logf("%d records, %d MB; heap grew by at most %d KB", n, src.produced>>20, (int64(peak)-int64(base))>>10)
}

func jsonCompact(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }

// FuzzReader: on any valid JSON input the Reader returns what
// encoding/json reads: the records of a log file, or the value itself. On
// any input it ends, without panicking.
func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"Records":[{"a":"}\\\""},[1],2]}`, `{"x":{"Records":[1]}}`, ` "s\\" `, `{"Records" : [ ] , "y" : "]" }`, `{"records":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := readAll(t, data, iotest.HalfReader)
		if !json.Valid(data) {
			return
		}
		var want []string
		dec := json.NewDecoder(bytes.NewReader(data))
		if tok, _ := dec.Token(); tok == json.Delim('{') {
			if key, _ := dec.Token(); key != nil {
				if k, ok := key.(string); ok && strings.EqualFold(k, "Records") && !escapedKey(data) {
					if tok, _ := dec.Token(); tok == json.Delim('[') {
						want = []string{}
						elems := func() {
							for dec.More() {
								var raw json.RawMessage
								if err := dec.Decode(&raw); err != nil {
									t.Fatal(err)
								}
								want = append(want, string(raw))
							}
							dec.Token() // ]
						}
						elems()
						// Later members: every other Records array too.
						for dec.More() {
							k, _ := dec.Token()
							var raw json.RawMessage
							if err := dec.Decode(&raw); err != nil {
								t.Fatal(err)
							}
							if k, ok := k.(string); ok && strings.EqualFold(k, "Records") && bytes.HasPrefix(raw, []byte("[")) {
								sub := json.NewDecoder(bytes.NewReader(raw))
								sub.Token()
								for sub.More() {
									var e json.RawMessage
									sub.Decode(&e)
									want = append(want, string(e))
								}
							}
						}
					}
				}
			}
		}
		if want == nil {
			want = []string{string(bytes.TrimSpace(bytes.TrimPrefix(data, bom)))}
		}
		var gotRaw []string
		for _, g := range out {
			if g.err != "" {
				t.Fatalf("valid JSON %q: error %s", data, g.err)
			}
			gotRaw = append(gotRaw, g.raw)
		}
		if strings.Join(gotRaw, "\x00") != strings.Join(want, "\x00") || len(gotRaw) != len(want) {
			t.Fatalf("valid JSON %q: got %q, want %q", data, gotRaw, want)
		}
	})
}

// escapedKey reports whether the first key of the object data has an
// escape: the Reader then reads the object whole (the decoder does too).
func escapedKey(data []byte) bool {
	rest := bytes.TrimLeft(data, " \t\r\n\xef\xbb\xbf")
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	end := bytes.IndexByte(rest[1:], '"')
	return end < 0 || bytes.IndexByte(rest[1:1+end], '\\') >= 0
}

// TestJustOverTheLimit: a value one byte over MaxRecord is an error,
// read in place (NewBytesReader) or from a stream.
func TestJustOverTheLimit(t *testing.T) {
	const head = `{"a":"`
	rec := head + strings.Repeat("x", MaxRecord+1-len(head)-2) + `"}`
	in := []byte(`{"Records":[` + rec + `,{"b":1}]}`)
	for name, rd := range map[string]*Reader{"bytes": NewBytesReader(in), "stream": NewReader(bytes.NewReader(in))} {
		_, err := rd.Next()
		var re *RecordError
		if !errors.As(err, &re) || re.Record != 1 || re.Size != MaxRecord+1 {
			t.Errorf("%s: %v, want record 1 over the limit by one byte", name, err)
		}
		if it, err := rd.Next(); err != nil || string(it.Raw) != `{"b":1}` {
			t.Errorf("%s: then %q, %v; want the next record", name, it.Raw, err)
		}
	}
	exact := []byte(head + strings.Repeat("x", MaxRecord-len(head)-2) + `"}`)
	if it, err := NewBytesReader(exact).Next(); err != nil || len(it.Raw) != MaxRecord {
		t.Errorf("a value of exactly MaxRecord bytes: %v", err)
	}
}

// endless is a string that never ends.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	if e.n == 0 {
		p[0] = '"'
	}
	e.n += len(p)
	return len(p), nil
}

// TestEndlessValue: a value that never ends is an error as soon as it is
// over MaxRecord, not when (never) it ends.
func TestEndlessValue(t *testing.T) {
	src := &endless{}
	_, err := NewReader(src).Next()
	var re *RecordError
	if !errors.As(err, &re) || re.Record != 0 {
		t.Fatalf("%v, want a RecordError", err)
	}
	if src.n > MaxRecord+2*readSize {
		t.Errorf("read %d bytes before the error, want at most %d", src.n, MaxRecord+2*readSize)
	}
}

// offset is how many bytes of the stream the Reader has consumed.
func (d *Reader) offset() int64 { return d.off + int64(d.r) }
