package sse

// The event data buffer: small events are built in one reused buffer,
// large ones from fixed pieces (Reader.chunks) joined once.

// addData appends b to the data buffer, preceded by the '\n' ending the
// previous data line if b starts a new one (first). It reports false, and
// appends nothing, if the data buffer would exceed the limit; the limit
// counts the final '\n' of the specification's buffer, so that a value
// pushes it over exactly when it did while the '\n' was stored.
func (p *Reader) addData(b []byte, first bool) bool {
	sep := first && p.hasData
	n := len(b)
	if sep {
		n++
	}
	if p.dataLen+n > p.max {
		return false
	}
	if sep {
		p.appendData(newline)
	}
	p.appendData(b)
	p.hasData = true
	return true
}

var (
	dataField = []byte("data:")
	newline   = []byte{'\n'}
)

// appendData appends b to the data buffer, growing p.data by doubling up to
// p.chunk bytes and then continuing in new pieces of p.chunk bytes.
func (p *Reader) appendData(b []byte) {
	p.dataLen += len(b)
	for {
		n := copy(p.data[len(p.data):cap(p.data)], b)
		p.data = p.data[:len(p.data)+n]
		b = b[n:]
		if len(b) == 0 {
			return
		}
		if cap(p.data) >= p.chunk {
			p.chunks = append(p.chunks, p.data)
			p.data = make([]byte, 0, p.chunk)
			continue
		}
		// dataLen <= max, so the new capacity leaves room for b, unless
		// it is capped at chunk, in which case the loop moves on.
		nd := make([]byte, len(p.data), min(max(2*cap(p.data), len(p.data)+len(b)), p.chunk, p.max))
		copy(nd, p.data)
		p.data = nd
	}
}

// takeData returns the data buffer's contents as a slice owned by the
// caller, of exactly the data's length and capacity.
func (p *Reader) takeData() []byte {
	d := make([]byte, p.dataLen)
	n := 0
	for i, c := range p.chunks {
		n += copy(d[n:], c)
		p.chunks[i] = nil
	}
	copy(d[n:], p.data)
	p.chunks = p.chunks[:0]
	return d
}
