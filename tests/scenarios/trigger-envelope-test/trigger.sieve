require "envelope";
# Harvey's calendar is kept by hand: the agent leaves his mail alone.
# Mail whose envelope sender is the list's bounce address is never looked at.
if anyof (envelope :is "to" "harvey.horse@example.com",
          envelope :domain :is "from" "lists.example.com") {
  discard;
}
