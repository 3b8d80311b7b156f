package iostreams

import (
	"fmt"
	"sync"
	"time"
)

// spinnerFrames are drawn in turn, one every spinnerInterval.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

const spinnerInterval = 100 * time.Millisecond

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

// progressIndicator is the spinner of one IOStreams. Its goroutine and
// the command's own calls write to stderr concurrently, hence the lock.
type progressIndicator struct {
	mu       sync.Mutex
	label    string
	running  bool
	stop     chan struct{}
	finished chan struct{}
}

// StartProgressIndicatorWithLabel shows that label is happening now. On a
// terminal stderr gets a spinner before the label, started by the first
// call and relabelled by the next ones; elsewhere each label is one plain
// line, so that a log file or CI output does not fill with \r frames.
func (s *IOStreams) StartProgressIndicatorWithLabel(label string) {
	p := &s.progress
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label = label
	if !s.stderrTTY {
		fmt.Fprintln(s.ErrOut, label)
		return
	}
	if p.running {
		return
	}
	p.running = true
	p.stop = make(chan struct{})
	p.finished = make(chan struct{})
	go s.spin(p.stop, p.finished)
}

// StopProgressIndicator stops the spinner and erases its line, so that
// what is printed next starts on a clean line. It does nothing when no
// spinner runs.
func (s *IOStreams) StopProgressIndicator() {
	p := &s.progress
	p.mu.Lock()
	// The channels are read under the lock: once it is released, a start
	// from another goroutine may replace them with its own spinner's.
	running, stop, finished := p.running, p.stop, p.finished
	p.running = false
	p.mu.Unlock()
	if !running {
		return
	}
	close(stop)
	<-finished
	p.mu.Lock()
	defer p.mu.Unlock()
	// A spinner started meanwhile clears the line itself at every frame.
	if !p.running {
		fmt.Fprint(s.ErrOut, clearLine)
	}
}

func (s *IOStreams) spin(stop <-chan struct{}, finished chan<- struct{}) {
	defer close(finished)
	p := &s.progress
	tick := time.NewTicker(spinnerInterval)
	defer tick.Stop()
	for i := 0; ; i++ {
		p.mu.Lock()
		fmt.Fprintf(s.ErrOut, "%s%s %s", clearLine, spinnerFrames[i%len(spinnerFrames)], p.label)
		p.mu.Unlock()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
