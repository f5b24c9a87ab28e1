package demo

import (
	"context"
	"errors"
	"io"
)

// Interactive is the interactive demo (issue 7).
func Interactive(ctx context.Context, in io.Reader, out io.Writer) error {
	return errors.New("the interactive demo is not implemented yet; run `mdebot demo`")
}
