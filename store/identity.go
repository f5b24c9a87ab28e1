package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mdebot/mdebot/identity"
)

// The identity tables (migration 0002). Token caches and PKCE verifiers
// arrive sealed by the identity package: the store never sees them in clear.

var _ identity.Store = (*DB)(nil)

// staleStateAge: a sign-in state that expired this long before a new one
// expires is purged when the new one is saved. Measured from the caller's
// clock (the new state's expiry), so an injected clock stays consistent.
const staleStateAge = 24 * time.Hour

// LoadTokenCache returns the user's sealed token cache, or (nil, nil) when none.
func (d *DB) LoadTokenCache(ctx context.Context, team, user string) ([]byte, error) {
	var sealed []byte
	err := d.SQL.QueryRowContext(ctx,
		`SELECT sealed FROM identity_token_caches WHERE team = $1 AND slack_user = $2`, team, user).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: load token cache: %w", err)
	}
	if sealed == nil { // an empty BLOB scans as nil; a row exists
		sealed = []byte{}
	}
	return sealed, nil
}

// SaveTokenCache creates or replaces the user's sealed token cache.
func (d *DB) SaveTokenCache(ctx context.Context, team, user string, sealed []byte) error {
	if sealed == nil {
		sealed = []byte{}
	}
	_, err := d.SQL.ExecContext(ctx, `INSERT INTO identity_token_caches (team, slack_user, sealed, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (team, slack_user) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
		team, user, sealed, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: save token cache: %w", err)
	}
	return nil
}

// SaveLink creates or replaces the user's link.
func (d *DB) SaveLink(ctx context.Context, l identity.Link) error {
	_, err := d.SQL.ExecContext(ctx, `INSERT INTO identity_links
		(team, slack_user, home_account_id, username, tenant_id, linked_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (team, slack_user) DO UPDATE SET home_account_id = excluded.home_account_id,
			username = excluded.username, tenant_id = excluded.tenant_id, linked_at = excluded.linked_at`,
		l.Team, l.User, l.HomeAccountID, l.Username, l.TenantID, toMillis(l.LinkedAt))
	if err != nil {
		return fmt.Errorf("store: save link: %w", err)
	}
	return nil
}

// LoadLink returns the user's link, or (nil, nil) when none.
func (d *DB) LoadLink(ctx context.Context, team, user string) (*identity.Link, error) {
	l := identity.Link{Team: team, User: user}
	var linkedAt int64
	err := d.SQL.QueryRowContext(ctx, `SELECT home_account_id, username, tenant_id, linked_at
		FROM identity_links WHERE team = $1 AND slack_user = $2`, team, user).
		Scan(&l.HomeAccountID, &l.Username, &l.TenantID, &linkedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: load link: %w", err)
	}
	l.LinkedAt = fromMillis(linkedAt)
	return &l, nil
}

// DeleteLink deletes the user's link and token cache, together.
func (d *DB) DeleteLink(ctx context.Context, team, user string) error {
	tx, err := d.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete link: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for _, q := range []string{
		`DELETE FROM identity_token_caches WHERE team = $1 AND slack_user = $2`,
		`DELETE FROM identity_links WHERE team = $1 AND slack_user = $2`,
	} {
		if _, err := tx.ExecContext(ctx, q, team, user); err != nil {
			return fmt.Errorf("store: delete link: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete link: %w", err)
	}
	return nil
}

// SaveLoginState stores a pending sign-in, and purges long-expired ones.
func (d *DB) SaveLoginState(ctx context.Context, st identity.LoginState) error {
	if st.ID == "" {
		return errors.New("store: save login state: empty id")
	}
	if _, err := d.SQL.ExecContext(ctx, `DELETE FROM identity_login_states WHERE expires_at < $1`,
		st.ExpiresAt.Add(-staleStateAge).UnixMilli()); err != nil {
		return fmt.Errorf("store: purge login states: %w", err)
	}
	if _, err := d.SQL.ExecContext(ctx, `INSERT INTO identity_login_states (id, team, slack_user, sealed, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, st.ID, st.Team, st.User, st.Sealed, toMillis(st.ExpiresAt)); err != nil {
		return fmt.Errorf("store: save login state: %w", err)
	}
	return nil
}

// PeekLoginState returns the state without taking it (the sign-in
// confirmation page reads whom it links), or (nil, nil) when unknown.
func (d *DB) PeekLoginState(ctx context.Context, id string) (*identity.LoginState, error) {
	st := identity.LoginState{ID: id}
	var expires int64
	err := d.SQL.QueryRowContext(ctx, `SELECT team, slack_user, sealed, expires_at FROM identity_login_states WHERE id = $1`,
		id).Scan(&st.Team, &st.User, &st.Sealed, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: peek login state: %w", err)
	}
	st.ExpiresAt = fromMillis(expires)
	return &st, nil
}

// TakeLoginState deletes and returns the state in one statement, so two
// callbacks racing with the same state cannot both get it. (nil, nil) when
// unknown or already taken.
func (d *DB) TakeLoginState(ctx context.Context, id string) (*identity.LoginState, error) {
	st := identity.LoginState{ID: id}
	var expires int64
	err := d.SQL.QueryRowContext(ctx, `DELETE FROM identity_login_states WHERE id = $1
		RETURNING team, slack_user, sealed, expires_at`, id).Scan(&st.Team, &st.User, &st.Sealed, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: take login state: %w", err)
	}
	st.ExpiresAt = fromMillis(expires)
	return &st, nil
}
