package tasks

import "time"

// SetClock replaces the clock "today" is read from. Call it before requests that use it.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetDeals replaces the deals facade, to put the service in states that are hard to reach
// through the real one.
func (s *Service) SetDeals(d Deals) { s.deals = d }

// SetOrgs replaces the orgs facade, to give the organization a time zone.
func (s *Service) SetOrgs(o Orgs) { s.orgs = o }

// Orgs returns the orgs facade in use.
func (s *Service) Orgs() Orgs { return s.orgs }
