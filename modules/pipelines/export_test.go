package pipelines

import "github.com/mini-crm/crm/modules/pipelines/pipelinesapi"

// UseDeals makes the service ask c and m as if the deals module provided them (tests only:
// the deals module does not provide them yet).
func (s *Service) UseDeals(c pipelinesapi.DealCounter, m pipelinesapi.StageMover) {
	s.deals, s.mover = c, m
}
