"""The ground floor, what every part of the bundler uses: a bundle's member names, deterministic zips and folders,
the platforms' facts, the editions' folders."""
