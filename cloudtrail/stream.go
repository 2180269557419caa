package cloudtrail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxRecord bounds one value of an input: a record of a CloudTrail log
// file, an EventBridge event or a bare record, after decompression. It is
// the same for a file, gzip, standard input and a Lambda event; a value over
// it is an error for that value only (the values after it are still read).
// CloudTrail's records are far smaller: EventBridge caps an event at 256 KB.
const MaxRecord = 16 << 20

// Reader splits a stream into the values it holds, one at a time, without
// holding more than one value (and one read's worth of bytes) in memory: the
// records of a CloudTrail log file ({"Records":[…]}, however large), and
// any number of top-level values one after another (concatenated or one per
// line: EventBridge events, bare records, log files).
//
// It reads structure only (strings, brackets, the "Records" key); a value's
// own syntax is checked by the decoder that reads it. An input whose
// structure is broken (an unterminated value, a stray bracket) ends with a
// *SyntaxError; the values before it have been returned.
type Reader struct {
	src io.Reader
	buf []byte
	// buf[r:w] is unconsumed; the value being read starts at r, and the
	// scan has reached pos.
	r, pos, w int
	off       int64 // stream offset of buf[0]
	eof       bool
	readErr   error // a read's error, returned once what it read is scanned
	err       error // sticky: io.EOF or a *SyntaxError

	// The structural scan: depth of brackets, whether inside a string, and
	// where the current string's bytes start (for counting backslashes).
	depth    int
	inString bool
	strFrom  int
	strOdd   bool // the dropped bytes of this string ended in an odd run of backslashes

	skip   func(keep bool) error // set after a RecordError: the scan that skips the rest of the value
	inObj  bool                  // inside a log file's top-level object
	inLog  bool                  // inside a log file's Records array
	sep    bool                  // a record was returned: a comma or the closing bracket comes next
	record int                   // records of the current log file returned so far
	values int                   // top-level values begun
}

// Item is one value of the input.
type Item struct {
	// Raw is the value's bytes; valid until the next call to Next.
	Raw []byte
	// Record is the value's number in its log file's Records array,
	// counting from 1, or 0 for a top-level value (an event, a bare
	// record, or a log file with no Records array).
	Record int
}

// RecordError is a value that could not be returned: it is over
// MaxRecord. It is returned as soon as the value passes the limit; the
// next call to Next skips the rest of it and goes on with the next value.
type RecordError struct {
	Record int   // as in Item
	Offset int64 // where the value starts in the (decompressed) stream
	Size   int64 // its size as far as read when the error was returned
}

func (e *RecordError) Error() string {
	what := "value"
	if e.Record > 0 {
		what = fmt.Sprintf("record %d", e.Record)
	}
	return fmt.Sprintf("%s at byte %d exceeds the %d-byte limit for one record", what, e.Offset, MaxRecord)
}

// SyntaxError is a break in an input's structure.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("byte %d: %s", e.Offset, e.Msg) }

const readSize = 512 << 10

// NewReader returns a Reader of src, which must already be decompressed.
func NewReader(src io.Reader) *Reader {
	return &Reader{src: src}
}

// NewBytesReader returns a Reader of data, which it reads in place,
// without copying (data must not change while the Reader is in use).
func NewBytesReader(data []byte) *Reader {
	return &Reader{buf: data, w: len(data), eof: true}
}

// Values is the number of top-level values (log files included) begun
// so far: 0 for an input of white space only.
func (d *Reader) Values() int { return d.values }

// Next returns the next value. At the end of the input it returns io.EOF;
// a *RecordError for a value over MaxRecord (call Next again for the rest);
// a *SyntaxError or a read error, after which the input cannot be read on.
func (d *Reader) Next() (Item, error) {
	if d.err != nil {
		return Item{}, d.err
	}
	if d.skip != nil { // the rest of a value over MaxRecord
		err := d.skip(false)
		d.skip = nil
		if err != nil {
			return Item{}, d.fail(err)
		}
		d.r = d.pos
	}
	for {
		if d.inLog && d.sep {
			if err := d.afterRecord(); err != nil {
				return Item{}, d.fail(err)
			}
		}
		c, err := d.skipSpace(d.inLog || d.inObj)
		if err == io.EOF && !d.inLog && !d.inObj {
			d.err = io.EOF
			return Item{}, io.EOF
		}
		if err != nil {
			return Item{}, d.fail(err)
		}
		switch {
		case d.inLog:
			if c == ']' && !d.sep { // the end of a Records array
				d.pos++
				d.r = d.pos
				d.inLog = false
				continue
			}
			d.record++
			d.sep = true
			return d.value(c, d.record)
		case d.inObj: // after a Records array: the log file's other members
			log, err := d.nextMember(c)
			if err != nil {
				return Item{}, d.fail(err)
			}
			if log {
				d.inLog, d.sep = true, false
			}
			continue
		}
		d.values++
		if c == '{' {
			log, err := d.openLog()
			if err != nil {
				return Item{}, d.fail(err)
			}
			if log {
				d.inObj, d.inLog, d.sep, d.record = true, true, false, 0
				continue
			}
		}
		return d.value(c, 0)
	}
}

// nextMember reads what follows a member of a log file's top-level object,
// c being its first byte: the object's end, or another member. Another
// "Records" array (a duplicate key: encoding/json would read the last one)
// is read too, its records numbered on from the first's: it reports true,
// leaving the Reader inside it. Any other member is skipped.
func (d *Reader) nextMember(c byte) (bool, error) {
	if c == '}' {
		d.pos++
		d.r = d.pos
		d.inObj = false
		return false, nil
	}
	if c != ',' {
		return false, &SyntaxError{Offset: d.off + int64(d.pos), Msg: fmt.Sprintf("in a log file: want ',' or '}', got %q", c)}
	}
	d.pos++
	d.r = d.pos
	if c, err := d.skipSpace(true); err != nil {
		return false, err
	} else if c != '"' {
		return false, &SyntaxError{Offset: d.off + int64(d.pos), Msg: fmt.Sprintf("in a log file: want a key, got %q", c)}
	}
	if err := d.scanValue(true); err != nil { // the key, a string
		if err == errTooLong {
			return false, &SyntaxError{Offset: d.off + int64(d.r), Msg: "in a log file: a key over the limit for one record"}
		}
		return false, err
	}
	var key string
	if err := json.Unmarshal(d.buf[d.r:d.pos], &key); err != nil {
		return false, &SyntaxError{Offset: d.off + int64(d.r), Msg: "in a log file: a key that is not a string"}
	}
	d.r = d.pos
	if c, err := d.skipSpace(true); err != nil {
		return false, err
	} else if c != ':' {
		return false, &SyntaxError{Offset: d.off + int64(d.pos), Msg: fmt.Sprintf("in a log file: want ':' after a key, got %q", c)}
	}
	d.pos++
	d.r = d.pos
	c, err := d.skipSpace(true)
	if err != nil {
		return false, err
	}
	if c == '[' && strings.EqualFold(key, "Records") {
		d.pos++
		d.r = d.pos
		return true, nil
	}
	// Skip the value, holding none of it.
	switch c {
	case '{', '[', '"':
		err = d.scanValue(false)
	case '}', ']', ',', ':':
		err = &SyntaxError{Offset: d.off + int64(d.pos), Msg: fmt.Sprintf("unexpected %q", c)}
	default:
		err = d.scanScalar(false)
	}
	d.r = d.pos
	return false, err
}

func (d *Reader) fail(err error) error {
	if err == io.ErrUnexpectedEOF {
		err = &SyntaxError{Offset: d.off + int64(d.w), Msg: "unexpected end of input"}
	}
	d.err = err
	return err
}

// value scans the value starting at r, whose first byte is c, and returns
// it, or a *RecordError if it is over MaxRecord (and then skips it).
func (d *Reader) value(c byte, record int) (Item, error) {
	start := d.off + int64(d.r)
	scan := d.scanValue
	switch c {
	case '{', '[', '"':
	case '}', ']', ',', ':':
		return Item{}, d.fail(&SyntaxError{Offset: start, Msg: fmt.Sprintf("unexpected %q", c)})
	default:
		scan = d.scanScalar
	}
	err := scan(true)
	if err == errTooLong {
		// Said now, not at the value's end (which may never come: an
		// endless stream); the next call skips the rest of it.
		d.skip = scan
		d.drop()
		return Item{}, &RecordError{Record: record, Offset: start, Size: d.off + int64(d.pos) - start}
	}
	if err != nil {
		return Item{}, d.fail(err)
	}
	if size := d.off + int64(d.pos) - start; size > MaxRecord {
		d.r = d.pos
		return Item{}, &RecordError{Record: record, Offset: start, Size: size}
	}
	it := Item{Raw: d.buf[d.r:d.pos], Record: record}
	d.r = d.pos
	return it, nil
}

// afterRecord consumes what follows a record in the Records array: a comma,
// or nothing before the closing bracket.
func (d *Reader) afterRecord() error {
	c, err := d.skipSpace(true)
	if err != nil {
		return err
	}
	switch c {
	case ',':
		d.pos++
		d.r = d.pos
		d.sep = false
		if c, err = d.skipSpace(true); err != nil {
			return err
		}
		if c == ']' {
			return &SyntaxError{Offset: d.off + int64(d.pos), Msg: "a comma before ']'"}
		}
		return nil
	case ']':
		d.sep = false
		return nil
	}
	return &SyntaxError{Offset: d.off + int64(d.pos), Msg: fmt.Sprintf("after a record: want ',' or ']', got %q", c)}
}

var errTooLong = errors.New("value too long")

// skipSpace consumes white space and returns the next byte, unconsumed.
// At the end of input it returns io.EOF, or io.ErrUnexpectedEOF when
// more was required.
func (d *Reader) skipSpace(required bool) (byte, error) {
	for {
		for d.pos < d.w {
			switch c := d.buf[d.pos]; c {
			case ' ', '\t', '\r', '\n':
				d.pos++
			default:
				if d.pos == 0 && d.off == 0 && c == 0xef { // a UTF-8 byte order mark
					if err := d.need(3); err == nil && bytes.HasPrefix(d.buf[d.pos:d.w], bom) {
						d.pos += 3
						continue
					}
				}
				d.r = d.pos
				return c, nil
			}
		}
		d.r = d.pos
		if err := d.fill(false); err != nil {
			if err == io.EOF && required {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

var bom = []byte("\xef\xbb\xbf")

// need makes sure n bytes from pos are buffered, if the input has them.
func (d *Reader) need(n int) error {
	for d.w-d.pos < n {
		if err := d.fill(true); err != nil {
			return err
		}
	}
	return nil
}

// fill reads more input into buf, keeping buf[r:w]. keep false lets the
// bytes before pos go (a value being skipped). It returns io.EOF when the
// input has ended. A read that fails after giving bytes (a gzip stream cut
// short gives what it decompressed with its error) keeps them: the error is
// returned by the next fill, so that every value they complete is read
// first.
func (d *Reader) fill(keep bool) error {
	if d.eof {
		return io.EOF
	}
	if d.readErr != nil {
		return d.readErr
	}
	if !keep && d.pos > d.r {
		d.drop()
	}
	if d.r > 0 && (d.w == len(d.buf) || d.r > len(d.buf)/2) {
		n := copy(d.buf, d.buf[d.r:d.w])
		d.off += int64(d.r)
		d.pos -= d.r
		d.strFrom -= d.r
		d.w = n
		d.r = 0
	}
	if len(d.buf)-d.w < readSize/2 {
		size := 2 * len(d.buf)
		if size < readSize {
			size = readSize
		}
		if keep && size > MaxRecord+readSize {
			size = MaxRecord + readSize
		}
		if size <= d.w { // cannot happen: a kept value stops at MaxRecord
			size = d.w + readSize
		}
		if size > len(d.buf) {
			nb := make([]byte, size)
			copy(nb, d.buf[:d.w])
			d.buf = nb
		}
	}
	for {
		n, err := d.src.Read(d.buf[d.w:])
		d.w += n
		if err == io.EOF {
			d.eof = true
			if n > 0 {
				return nil
			}
			return io.EOF
		}
		if err != nil {
			if n > 0 {
				d.readErr = err
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// drop lets the bytes before pos go, keeping what the scan of a string
// needs to know of them (whether they ended in an odd run of backslashes).
func (d *Reader) drop() {
	if d.inString && d.strFrom < d.pos {
		d.strOdd = oddBackslashes(d.buf[d.strFrom:d.pos], d.strOdd)
		d.strFrom = d.pos
	}
	d.r = d.pos
}

// oddBackslashes reports whether b ends in an odd run of backslashes, given
// whether the bytes before it did (counted only when b is all backslashes).
func oddBackslashes(b []byte, before bool) bool {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == '\\'; i-- {
		n++
	}
	if n == len(b) {
		return before != (n%2 == 1)
	}
	return n%2 == 1
}

// scanValue scans from r to the end of one JSON value, leaving pos after
// it. With keep it holds the value in buf and returns errTooLong once it
// is over MaxRecord (the scan can go on with keep false, dropping bytes).
func (d *Reader) scanValue(keep bool) error {
	for {
		b := d.buf[:d.w]
		i, depth := d.pos, d.depth
		for i < len(b) {
			if d.inString {
				k := bytes.IndexByte(b[i:], '"')
				if k < 0 {
					i = len(b)
					break
				}
				i += k
				if d.escaped(i) {
					i++
					continue
				}
				d.inString = false
				i++
				if depth == 0 {
					d.pos, d.depth = i, depth
					return nil
				}
			}
			// Outside strings: up to the next quote, counting brackets.
			for i < len(b) {
				c := b[i]
				i++
				switch structural[c] {
				case quote:
					d.inString = true
					d.strFrom = i
					d.strOdd = false
				case open:
					depth++
					continue
				case closing:
					depth--
					if depth <= 0 {
						if depth < 0 {
							d.pos, d.depth = i-1, 0
							return &SyntaxError{Offset: d.off + int64(i-1), Msg: fmt.Sprintf("unexpected %q", c)}
						}
						d.pos, d.depth = i, depth
						return nil
					}
					continue
				default:
					continue
				}
				break
			}
		}
		d.pos, d.depth = i, depth
		if keep && d.pos-d.r > MaxRecord {
			return errTooLong
		}
		if err := d.fill(keep); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

const (
	quote = 1 + iota
	open
	closing
)

// structural classes the bytes that matter outside strings.
var structural = [256]uint8{'"': quote, '{': open, '[': open, '}': closing, ']': closing}

// escaped reports whether the quote at i is escaped: preceded by an odd
// run of backslashes within the current string.
func (d *Reader) escaped(i int) bool {
	n := 0
	j := i - 1
	for j >= d.strFrom && d.buf[j] == '\\' {
		n++
		j--
	}
	odd := n%2 == 1
	if j < d.strFrom && d.strOdd {
		odd = !odd
	}
	return odd
}

// scanScalar scans a number, true, false or null (or a bare word, which
// the decoder rejects) up to the next delimiter.
func (d *Reader) scanScalar(keep bool) error {
	for {
		for d.pos < d.w {
			switch d.buf[d.pos] {
			case ' ', '\t', '\r', '\n', ',', ']', '}', '{', '[', '"':
				return nil
			}
			d.pos++
		}
		if keep && d.pos-d.r > MaxRecord {
			return errTooLong
		}
		if err := d.fill(keep); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// openLog reads the start of a top-level object up to its first key and
// reports whether it is a CloudTrail log file: a "Records" key (in any case,
// as encoding/json matches it) whose value is an array. If it is, the
// Reader is left inside the array; if not, at the object's start, for
// value to read it whole.
func (d *Reader) openLog() (bool, error) {
	// {  "Records"  :  [
	i := 1
	next := func() (byte, error) {
		for {
			for d.pos+i < d.w {
				c := d.buf[d.pos+i]
				if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
					return c, nil
				}
				i++
			}
			if err := d.fill(true); err != nil {
				return 0, err
			}
		}
	}
	c, err := next()
	if err != nil || c != '"' {
		return false, nil // not a log file, or cut short: value reports it
	}
	const key = `"Records"`
	if err := d.need(i + len(key)); err != nil || !bytes.EqualFold(d.buf[d.pos+i:d.pos+i+len(key)], []byte(key)) {
		return false, nil
	}
	i += len(key)
	if c, err = next(); err != nil || c != ':' {
		return false, nil
	}
	i++
	if c, err = next(); err != nil || c != '[' {
		return false, nil
	}
	d.pos += i + 1
	d.r = d.pos
	d.depth = 0
	return true, nil
}

// Decompress returns src decompressed when it is gzip (one or more members,
// as CloudTrail writes them), or as it is. A gzip stream that is corrupt or
// cut short fails with an error that says so.
func Decompress(src io.Reader) (io.Reader, error) {
	head := make([]byte, 2)
	n, err := io.ReadFull(src, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	// The head goes back in front, without copying the rest.
	in := io.MultiReader(bytes.NewReader(head[:n]), src)
	if n < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return in, nil // too short for gzip: the Reader says what it is
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(in, readSize))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return gzipReader{zr}, nil
}

type gzipReader struct{ *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.Reader.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}
