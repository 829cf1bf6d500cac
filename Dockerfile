# syntax=docker/dockerfile:1
# The exact Go release named by go.mod (deploy_test.go keeps them equal).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/crm ./cmd/crm

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crm /crm
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/crm"]
CMD ["serve"]
