# Build: the release binary, with migrations, templates and static files compiled in.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY benches ./benches
RUN cargo build --release --locked

# Run: a small image with only the binary.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/fireline fireline
COPY --from=build /src/target/release/fireline /usr/local/bin/fireline
USER fireline
ENV FIRELINE_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["fireline"]
CMD ["serve"]
