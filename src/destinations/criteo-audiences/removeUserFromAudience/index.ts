import { audienceAction } from '../audience-action'

export default audienceAction('remove', {
  title: 'Remove users from Criteo audience',
  description: "Removes users who exit an Engage audience from the Criteo contact list named after the audience's key.",
  defaultSubscription: 'type = "track" and event = "Audience Exited"'
})
