import { audienceAction } from '../audience-action'

export default audienceAction(undefined, {
  title: 'Sync audience membership',
  description:
    'Adds or removes each user as the Engage event says (true or false under the audience key): for audiences set to "Send Identify", and for Track events alike. Events that say neither are reported, not guessed.',
  defaultSubscription: 'type = "identify" and context.personas.computation_class = "audience"'
})
