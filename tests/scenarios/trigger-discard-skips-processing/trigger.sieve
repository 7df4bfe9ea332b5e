# Mail from the announcement list is left alone by the agent (it is still
# delivered); everything else is processed (implicit keep).
if header :contains "List-Id" "<announce.example.com>" {
  discard;
}
