package compiler

import "bytes"

// Loading a big JSON List on two CPUs. Parsing an item's text into a tree
// and decoding the tree into an API object is half of the loader's work
// and depends on nothing the loader keeps, so a second goroutine does it
// ahead of the loader's own: it cuts the items, parses and decodes them
// and hands them over in batches, in input order. The loader's goroutine
// then does with each item exactly what fastJSONItems does with it after
// decoding (defaulting, validation, the fallback to the full path for an
// item the fast path does not take), so the result is the same.

// parallelMinLoadBytes is the List size from which its items are parsed
// and decoded on a second goroutine; below it starting the goroutine and
// handing items over costs more than it saves. (A variable so that tests
// can pipeline small Lists.)
var parallelMinLoadBytes = 256 << 10

// Batches of parsed items: how many items one holds, and how many the
// parsing goroutine may be ahead by. (A variable so that tests can cut
// small Lists into several batches.)
var loadBatchItems = 64

const loadBatchesOut = 4

// Test hooks: forceParallelItems pipelines every JSON List, and
// decodeAhead, given how many batches wait for the loader, says whether
// the parsing goroutine decodes the next item.
var (
	forceParallelItems bool
	decodeAhead        = func(queued int) bool { return queued > 0 }
)

// parsedItem is one List item, parsed and decoded.
type parsedItem struct {
	start, end int // its text in the List's data
	line       int // the line where it starts
	// nodes is its tree: batch nodes [lo, hi).
	lo, hi int
	// decoded is set when the parsing goroutine decoded the item, to obj
	// (decodeFast's result); otherwise the loader's goroutine decodes it.
	decoded bool
	obj     any
}

// itemBatch is consecutive items of a List. After the last item comes
// either the List's closing bracket (off is just after it), or, with
// bad set, something fastJSONItems rejects.
type itemBatch struct {
	items []parsedItem
	nodes []fnode
	last  bool // the batch ends the items (closed or bad)
	bad   bool
	off   int
}

// parallelItems reports whether the items of a List of n bytes are
// parsed on a second goroutine.
func parallelItems(n int) bool {
	return forceParallelItems || n >= parallelMinLoadBytes && procs() > 1
}

// fastJSONItemsParallel is fastJSONItems with the items parsed and decoded
// on a second goroutine.
func (l *loader) fastJSONItemsParallel(file string, p *jsonParser, lines *lineCounter) bool {
	data := p.data
	if p.off >= len(data) || data[p.off] != '[' {
		return false
	}
	p.off++
	out := make(chan *itemBatch, loadBatchesOut)
	free := make(chan *itemBatch, loadBatchesOut+2)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		parseItems(data, p.off, lines, out, free, stop)
	}()
	defer func() {
		close(stop)
		<-done
	}()
	t := &ftree{data: data} // one for all items: fastDecoded keeps it
	for b := range out {
		for i := range b.items {
			it := &b.items[i]
			t.nodes = b.nodes[it.lo:it.hi]
			if it.end-it.start <= maxObjectBytes/4 && !it.decoded && l.total >= len(t.nodes) {
				it.obj = decodeFast(&l.fast.dec, t)
			}
			if it.end-it.start > maxObjectBytes/4 || !l.fastDecoded(file, t, it.obj, it.start, it.line, it.line) {
				if !l.streamItem(file, data[it.start:it.end], it.line) {
					return false
				}
			}
		}
		if b.last {
			p.off = b.off
			return !b.bad
		}
		b.items, b.nodes = b.items[:0], b.nodes[:0]
		select {
		case free <- b:
		default:
		}
	}
	return false // not reached: the last batch returns
}

// parseItems cuts, parses and decodes the items of a List from off (just
// after its '['), as fastJSONItems does, and sends them in batches to out,
// which it closes when done; it stops early when stop is closed.
func parseItems(data []byte, off int, lines *lineCounter, out, free chan *itemBatch, stop chan struct{}) {
	defer close(out)
	var tree ftree
	dec := fdecoder{arena: &stringArena{}}
	p := jsonParser{data: data, off: off}
	b := &itemBatch{}
	send := func() bool {
		select {
		case out <- b:
		case <-stop:
			return false
		}
		select {
		case b = <-free:
		default:
			b = &itemBatch{}
		}
		return true
	}
	finish := func(bad bool) {
		b.last, b.bad, b.off = true, bad, p.off
		send()
	}
	p.ws()
	if p.off < len(data) && data[p.off] == ']' {
		p.off++
		finish(false)
		return
	}
	for {
		start := p.off
		end, ok := parseJSONAt(&tree, data, start)
		if !ok {
			finish(true)
			return
		}
		p.off = end
		it := parsedItem{start: start, end: end, line: lines.at(start), lo: len(b.nodes)}
		// Decoding is the bigger half of the work: it is done here while
		// the loader has items to go on with, and left to the loader when
		// it is waiting for items, which keeps both goroutines busy.
		if end-start <= maxObjectBytes/4 && decodeAhead(len(out)) {
			it.obj, it.decoded = decodeFast(&dec, &tree), true
		}
		b.nodes = append(b.nodes, tree.nodes...)
		it.hi = len(b.nodes)
		b.items = append(b.items, it)
		if more, ok := p.afterItem(); !more {
			finish(!ok)
			return
		}
		if len(b.items) == loadBatchItems && !send() {
			return
		}
	}
}

// sourceJSONList checks the characters of a source (checkCharacters)
// and, when it is big and starts with '{', loads it as one JSON List
// while a second goroutine checks them; done reports that it did. That
// is a guess at what source (load.go) will do, which the check then
// confirms; when it does not (a bad character, or anything that makes
// source read the text another way), what was recorded is undone, so
// that the result is the same.
func (l *loader) sourceJSONList(s Source) (line int, msg string, info textInfo, done bool) {
	data := s.Data
	if l.noStream || fastOff || !parallelItems(len(data)) {
		line, msg, info = checkCharacters(data)
		return line, msg, info, false
	}
	if j := bytes.TrimLeft(data, " \t\r\n"); len(j) == 0 || j[0] != '{' {
		line, msg, info = checkCharacters(data)
		return line, msg, info, false
	}
	type checked struct {
		line int
		msg  string
		info textInfo
	}
	ch := make(chan checked, 1)
	go func() {
		line, msg, info := checkCharacters(data)
		ch <- checked{line, msg, info}
	}()
	m := l.mark()
	// The text is taken for ASCII: if it is not, the guess stands only
	// when it has none of the characters yamlBreaks looks for, for then
	// yamlBreaks answered as it would have.
	l.ascii = true
	l.streamErr = nil
	read := l.fastJSONList(s.Name, document{data: data, line: 1})
	l.ascii = false
	c := <-ch
	if read && (c.msg != "" || c.info.marks || !c.info.ascii && hasYAMLBreaks(data)) {
		// a bad character, or documents would not give the text as one
		// document, or the fast path would not have read it
		l.rollback(m)
		read = false
	}
	return c.line, c.msg, c.info, read
}
