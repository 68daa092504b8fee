import { audienceAction } from '../audience-action'

export default audienceAction('add', {
  title: 'Add users to Criteo audience',
  description: "Adds users who enter an Engage audience to the Criteo contact list named after the audience's key.",
  defaultSubscription: 'type = "track" and event = "Audience Entered"'
})
