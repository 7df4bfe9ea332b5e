# Only invitations from this site's own domain are processed: keep them
# explicitly, discard the rest.
if address :domain :is "from" "example.com" {
  keep;
  stop;
}
discard;
