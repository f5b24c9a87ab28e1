package demo

import (
	"io"
	"os"
	"sync"
)

// console is the interactive demo's output: the prompt, the typed lines
// (echoed when they come from a pipe, where nobody sees them typed) and the
// conversation, which arrives from the bot at any time.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	echo     bool
	prompt   string
	atPrompt bool // the prompt is the last thing written: input is awaited
}

func newConsole(w io.Writer, echo bool) *console { return &console{w: w, echo: echo} }

// Write prints output. Output that arrives while the prompt waits for input
// goes on lines of its own, and the prompt is shown again after it.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.atPrompt {
		return c.w.Write(p)
	}
	if _, err := io.WriteString(c.w, "\n"); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if err != nil {
		return n, err
	}
	_, err = io.WriteString(c.w, c.prompt)
	return n, err
}

// showPrompt writes the prompt and marks input as awaited.
func (c *console) showPrompt(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompt, c.atPrompt = p, true
	_, _ = io.WriteString(c.w, p)
}

// took records that a line was read, echoing it after the prompt if needed.
func (c *console) took(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.echo && c.atPrompt {
		_, _ = io.WriteString(c.w, line+"\n")
	}
	c.atPrompt = false
}

// ended finishes the prompt's line when input ends.
func (c *console) ended() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.atPrompt {
		_, _ = io.WriteString(c.w, "\n")
	}
	c.atPrompt = false
}

// isTerminal reports whether in is a character device (someone typing, who
// sees their own input); a pipe or a file is not.
func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
