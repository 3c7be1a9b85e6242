package dump

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/caddy-oauth/caddy-oauth/store"
)

// Record is one record line of a dump; exactly the field of its Type is set.
type Record struct {
	Line    int // 1-based line number in the dump
	Type    string
	Key     *store.Key
	Client  *store.Client
	User    *store.User
	Consent *store.Consent
	Token   *store.Token
}

// LineError is a line that was refused; Import goes on with the next one.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads the records of a dump and checks each one: its JSON (strict:
// unknown fields are refused, so nothing is dropped silently), that it has
// what its type needs, and at the end that the end line's counts match.
type Reader struct {
	sc     *bufio.Scanner
	line   int
	header Header
	seen   Counts // record lines of a known type read so far
	ended  bool   // the end line was read
	eof    bool
	err    error // a read error: sticky
}

// NewReader reads and checks the header. A wrong or missing header, or an
// unknown version, is ErrFormat.
func NewReader(r io.Reader) (*Reader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	rd := &Reader{sc: sc}
	b, ok, err := rd.next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: the input is empty", ErrFormat)
	}
	var h Header
	if json.Unmarshal(b, &h) != nil || h.Format != Format {
		return nil, fmt.Errorf("%w: line 1 is not a %s header", ErrFormat, Format)
	}
	if h.Version != Version {
		return nil, fmt.Errorf("%w: it is format version %d, and this caddy-oauth reads version %d only", ErrFormat, h.Version, Version)
	}
	rd.header = h
	return rd, nil
}

// Header is the dump's header.
func (r *Reader) Header() Header { return r.header }

// next returns the next line, false at the end of the input. A line
// longer than MaxLine is a LineError after which the input ends.
func (r *Reader) next() ([]byte, bool, error) {
	if r.eof {
		return nil, false, nil
	}
	if r.err != nil {
		return nil, false, r.err
	}
	if r.sc.Scan() {
		r.line++
		return bytes.TrimSuffix(r.sc.Bytes(), []byte("\r")), true, nil
	}
	r.eof = true
	if err := r.sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, false, &LineError{r.line + 1, fmt.Errorf("longer than %d bytes; the rest of the dump is not read", MaxLine)}
	} else if err != nil {
		r.err = fmt.Errorf("reading the dump: %w", err)
		return nil, false, r.err
	}
	return nil, false, nil
}

// Next returns the next record. It returns a *LineError for a line it
// refuses (call Next again for the following one), io.EOF after the last
// line, and any other error when the input cannot be read (stop then). A
// dump without its end line ends with a LineError, as does anything after
// the end line.
func (r *Reader) Next() (*Record, error) {
	for {
		b, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			if !r.ended {
				r.ended = true // report it once
				return nil, &LineError{r.line, errors.New("the dump ends without its end line: it is truncated")}
			}
			return nil, io.EOF
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if r.ended {
			return nil, &LineError{r.line, errors.New("data after the end line")}
		}
		rec, err := r.parse(b)
		if err != nil {
			return nil, &LineError{r.line, err}
		}
		if rec != nil {
			return rec, nil
		}
	}
}

// typeName is what a refused type may echo: a short word, never a chunk of
// a record (which could hold a secret).
var typeName = regexp.MustCompile(`^[a-z_]{1,20}$`)

// parse decodes one line; (nil, nil) for the end line.
func (r *Reader) parse(b []byte) (*Record, error) {
	var l struct {
		Type   string          `json:"type"`
		Record json.RawMessage `json:"record"`
		Counts *Counts         `json:"counts"`
	}
	if err := strict(b, &l); err != nil {
		return nil, err
	}
	rec := &Record{Line: r.line, Type: l.Type}
	var v any
	switch l.Type {
	case TypeEnd:
		if l.Counts == nil || l.Record != nil {
			return nil, errors.New("an end line has counts and no record")
		}
		r.ended = true
		if *l.Counts != r.seen {
			return nil, fmt.Errorf("the end line counts %+v, but the dump has %+v: records are missing or added", *l.Counts, r.seen)
		}
		return nil, nil
	case TypeKey:
		rec.Key = new(store.Key)
		v = rec.Key
	case TypeClient:
		rec.Client = new(store.Client)
		v = rec.Client
	case TypeUser:
		rec.User = new(store.User)
		v = rec.User
	case TypeConsent:
		rec.Consent = new(store.Consent)
		v = rec.Consent
	case TypeToken:
		rec.Token = new(store.Token)
		v = rec.Token
	case "":
		return nil, errors.New(`no "type"`)
	default:
		if typeName.MatchString(l.Type) {
			return nil, fmt.Errorf("unknown record type %q", l.Type)
		}
		return nil, errors.New("unknown record type")
	}
	r.seen.add(l.Type)
	if l.Counts != nil {
		return nil, fmt.Errorf("a %s line has no counts", l.Type)
	}
	if l.Record == nil || string(l.Record) == "null" {
		return nil, fmt.Errorf("a %s line without its record", l.Type)
	}
	if err := strict(l.Record, v); err != nil {
		return nil, fmt.Errorf("%s: %v", l.Type, err)
	}
	if err := rec.check(); err != nil {
		return nil, err
	}
	return rec, nil
}

// strict decodes exactly one JSON object into v, refusing unknown fields.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON: data after the object")
	}
	return nil
}

// check refuses a record that no store could have held.
func (rec *Record) check() error {
	switch {
	case rec.Key != nil && (rec.Key.Name == "" || len(rec.Key.Value) == 0):
		return errors.New("key: a name and a value are required")
	case rec.Client != nil && rec.Client.ID == "":
		return errors.New("client: an id is required")
	case rec.User != nil && (rec.User.Username == "" || rec.User.PasswordHash == ""):
		return errors.New("user: a username and a password_hash are required")
	case rec.Consent != nil && (rec.Consent.User == "" || rec.Consent.ClientID == ""):
		return errors.New("consent: a user and a client_id are required")
	case rec.Token != nil && len(rec.Token.Hash) != sha256.Size:
		return fmt.Errorf("token: the hash must be %d bytes (a SHA-256)", sha256.Size)
	case rec.Token != nil && (rec.Token.Kind < store.KindAccess || rec.Token.Kind > store.KindOAuth1Request):
		return fmt.Errorf("token: unknown kind %d", rec.Token.Kind)
	case rec.Token != nil && rec.Token.ClientID == "":
		return errors.New("token: a client_id is required")
	}
	return nil
}
