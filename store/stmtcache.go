package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
)

// SQLite parses every statement it runs: database/sql prepares, runs and
// closes a statement per ExecContext or QueryContext, and the modernc driver
// keeps nothing between calls. Parsing was a fifth of the bot's CPU under a
// flood of commands (docs/performance.md, "Ack latency"), for the few dozen
// statements the bot and River repeat. stmtCacheConnector keeps, per
// connection, the most recent prepared statements by their text and runs
// them again. PostgreSQL needs none of this: pgx caches statements itself.

// stmtCacheSize bounds each connection's cache; the bot and River use fewer
// distinct statements than this, so only dynamic ones (IN lists) are evicted.
const stmtCacheSize = 256

// stmtCacheConnector opens connections of the wrapped driver with a cache.
type stmtCacheConnector struct {
	drv driver.Driver
	dsn string
}

func (c stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	for _, need := range []bool{
		implements[driver.ConnPrepareContext](conn), implements[driver.ConnBeginTx](conn),
		implements[driver.ExecerContext](conn), implements[driver.QueryerContext](conn),
	} {
		if !need {
			conn.Close()
			return nil, fmt.Errorf("store: sqlite driver connection %T lacks a context method", conn)
		}
	}
	return &cachingConn{Conn: conn, lru: list.New(), byQuery: map[string]*list.Element{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.drv }

func implements[T any](v any) bool { _, ok := v.(T); return ok }

// cachingConn is one connection; database/sql uses it from one goroutine at a time.
type cachingConn struct {
	driver.Conn
	lru     *list.List // of *cachedStmt, most recent first
	byQuery map[string]*list.Element
}

// cachedStmt is a prepared statement; busy while rows read from it.
type cachedStmt struct {
	query  string
	stmt   driver.Stmt
	busy   bool
	closed bool // evicted while busy: closed when its rows close
}

// statement returns the cached statement for query, preparing it if needed.
func (c *cachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt), nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byQuery[query] = c.lru.PushFront(cs)
	if c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		old.closed = true
		if !old.busy {
			_ = old.stmt.Close()
		}
	}
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs.busy { // its rows are still open on this connection
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if errors.Is(err, driver.ErrSkip) {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return res, err
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs.busy {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.byQuery)
	return errors.Join(append(errs, c.Conn.Close())...)
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	if r.cs.closed {
		err = errors.Join(err, r.cs.stmt.Close())
	}
	return err
}

// The column type methods database/sql's ColumnTypes asks the driver's rows
// for, passed through (the modernc driver has them all).

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
