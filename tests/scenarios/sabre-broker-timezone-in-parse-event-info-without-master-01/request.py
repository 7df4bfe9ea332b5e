#!/usr/bin/env python3
"""The organiser's object
(BrokerTimezoneInParseEventInfoWithoutMasterTest-01-calendar.ics), two
instances and no master, as Apple Calendar would send it: METHOD:REQUEST
added."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from genmsg import sabre_mail  # noqa: E402

sabre_mail('BrokerTimezoneInParseEventInfoWithoutMasterTest-01-calendar.ics', 'REQUEST',
           'organizer@test.com', 'invitee@test.com',
           'sabre-timezone-without-master-01',
           date='Fri, 01 Apr 2016 11:00:00 +0000')
