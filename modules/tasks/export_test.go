package tasks

import "time"

// SetClock replaces the clock "today" is read from. Call it before requests that use it.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetDeals replaces the deals facade, to put the service in states that are hard to reach
// through the real one.
func (s *Service) SetDeals(d Deals) { s.deals = d }
