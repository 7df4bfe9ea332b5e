# A typo: the block is never closed.  The agent must process the message
# as if there were no script, and say that the script failed.
if header :contains "List-Id" "<announce.example.com>" {
  discard;
