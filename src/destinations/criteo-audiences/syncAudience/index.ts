import { audienceAction } from '../audience-action'

export default audienceAction(undefined, {
  title: 'Sync audience membership',
  description:
    'Adds or removes each user as the Engage event says (true or false under the audience key): for audiences set to "Send Identify", and for Track events alike. Events that say neither are reported, not guessed.',
  defaultSubscription: 'type = "identify" and context.personas.computation_class = "audience"',
  // Reverse ETL (warehouse) audiences: actions-core turns each row's change into entered or exited by this mode.
  syncMode: {
    label: 'How to sync warehouse rows',
    description:
      "For Reverse ETL (warehouse) audiences. Add: rows that enter the model are added to the Criteo list. Delete: rows that leave it are removed. Mirror: both, so the list follows the model for every user this sync has sent; Criteo cannot list a contact list's members, so users added to the list outside this sync stay in it.",
    default: 'mirror',
    choices: [
      { label: 'Add rows that enter the model to the Criteo list', value: 'add' },
      { label: 'Remove rows that leave the model from the Criteo list', value: 'delete' },
      { label: 'Add and remove, so the list follows the model', value: 'mirror' }
    ]
  }
})
