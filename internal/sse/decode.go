package sse

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
)

// AcceptEncoding is the Accept-Encoding request header value listing every
// content coding [Decompress] understands.
const AcceptEncoding = "br, gzip, deflate"

// Decompress returns a reader that undoes contentEncoding, the value of an
// HTTP Content-Encoding header, on body. Supported codings are "br", "gzip"
// (and its alias "x-gzip"), "deflate" and "identity"; names are
// case-insensitive. A comma-separated list of codings is decoded in reverse
// order of application, as HTTP specifies. Bytes after the end of a brotli
// stream are ignored: the brotli decoder cannot reliably tell them from the
// stream's own final bytes. "deflate" is meant to be a zlib
// stream (RFC 9110) but many servers send raw DEFLATE data; both are
// accepted, distinguished by the zlib header.
//
// Decoding is incremental: every Read returns what can be decoded from the
// bytes received so far, so data the server flushed is available without
// waiting for the rest of the body. Decompress itself never reads from
// body; a malformed header is reported by the first Read.
//
// The returned Close closes body only (the decoders hold no other
// resources), so it is as safe to call concurrently with Read as body.Close
// is; an HTTP response body's Close may be used to abort a blocked Read.
//
// An unknown coding yields an [*UnsupportedEncodingError]; body is then not
// closed. Decoding errors returned by Read are wrapped with the coding name;
// errors of body itself, including io.EOF, are returned unchanged.
func Decompress(body io.ReadCloser, contentEncoding string) (io.ReadCloser, error) {
	var codings []string
	for c := range strings.SplitSeq(contentEncoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		switch c {
		case "", "identity":
		case "gzip", "x-gzip", "deflate", "br":
			codings = append(codings, c)
		default:
			return nil, &UnsupportedEncodingError{Encoding: c}
		}
	}
	if len(codings) == 0 {
		return body, nil
	}
	src := &sourceReader{r: body}
	var r io.Reader = src
	for i := len(codings) - 1; i >= 0; i-- {
		switch codings[i] {
		case "gzip", "x-gzip":
			r = &gzipDecoder{src: r}
		case "deflate":
			r = &deflateDecoder{src: r}
		case "br":
			r = &brotliDecoder{r: brotli.NewReader(r)}
		}
	}
	return &decodedBody{r: r, src: src, body: body, coding: strings.Join(codings, ", ")}, nil
}

// sourceReader remembers the last error of the raw body so that decodedBody
// can tell transport errors from decoding errors.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// decodedBody is the io.ReadCloser returned by Decompress.
type decodedBody struct {
	r      io.Reader
	src    *sourceReader
	body   io.Closer
	coding string
}

func (d *decodedBody) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && err != d.src.err {
		err = fmt.Errorf("sse: decoding %s content: %w", d.coding, err)
	}
	return n, err
}

func (d *decodedBody) Close() error { return d.body.Close() }

// gzipDecoder creates its gzip.Reader on first Read, because
// gzip.NewReader blocks until the gzip header has arrived.
type gzipDecoder struct {
	src io.Reader
	zr  *gzip.Reader
	err error // sticky header error
}

func (g *gzipDecoder) Read(p []byte) (int, error) {
	if g.zr == nil {
		if g.err != nil {
			return 0, g.err
		}
		zr, err := gzip.NewReader(g.src)
		if err != nil {
			g.err = err
			return 0, err
		}
		g.zr = zr
	}
	return g.zr.Read(p)
}

// deflateDecoder sniffs the first two bytes to choose between a zlib
// stream and raw DEFLATE data.
type deflateDecoder struct {
	src io.Reader
	r   io.Reader
	err error // sticky header error
}

func (d *deflateDecoder) Read(p []byte) (int, error) {
	if d.r == nil {
		if d.err == nil {
			d.r, d.err = newDeflateReader(d.src)
		}
		if d.err != nil {
			return 0, d.err
		}
	}
	return d.r.Read(p)
}

func newDeflateReader(src io.Reader) (io.Reader, error) {
	br := bufio.NewReader(src)
	hdr, err := br.Peek(2)
	switch {
	case len(hdr) == 0 && err == io.EOF:
		return nil, io.EOF
	case len(hdr) < 2 && err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case len(hdr) < 2:
		return nil, err
	}
	if isZlibHeader(hdr[0], hdr[1]) {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// brotliExcessiveInput is the text of the brotli package's unexported
// error for input remaining after the end of the compressed stream.
const brotliExcessiveInput = "brotli: excessive input"

// brotliDecoder ends the content at the end of the brotli stream. The
// brotli package (v1.2.8) reports "excessive input" not only for bytes after
// the stream but also, spuriously, for a valid stream whose last bytes
// arrive in separate small reads, after all data was decoded correctly. The
// two cases are indistinguishable from outside, so both count as the end of
// the content: bytes after a complete brotli stream are ignored.
type brotliDecoder struct {
	r    *brotli.Reader
	done bool
}

func (b *brotliDecoder) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err != nil && err.Error() == brotliExcessiveInput {
		b.done = true
		err = io.EOF
	}
	return n, err
}

// isZlibHeader reports whether cmf, flg form a valid RFC 1950 header:
// compression method 8 (deflate), window size at most 32 KiB, and a header
// checksum that is a multiple of 31. Raw DEFLATE data almost never matches.
func isZlibHeader(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
